"""Login throttling: only failed attempts count, per email and per client address."""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app
from limits import RateLimitItem, parse

from meditrack.core.errors import RateLimited
from meditrack.extensions import limiter
from meditrack.users.emails import canonical_email


def _limits(email: str, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    """Each limit with the identifiers of its counter. RATELIMIT_KEY_PREFIX leads them, as
    Flask-Limiter does for its own limits, so that several deployments can share one
    Redis without sharing counters."""
    config = current_app.config
    prefix = (config["RATELIMIT_KEY_PREFIX"],) if config.get("RATELIMIT_KEY_PREFIX") else ()
    return [
        (parse(config["MEDITRACK_LOGIN_EMAIL_LIMIT"]), (*prefix, "login-email", _digest(email))),
        (parse(config["MEDITRACK_LOGIN_IP_LIMIT"]), (*prefix, "login-ip", ip)),
    ]


def _digest(email: str) -> str:
    """The counter is keyed by a digest of the canonical form, the one the account lookup
    compares: every variant that reaches an account counts against it. The store (Redis)
    never holds an address."""
    return hashlib.sha256(canonical_email(email).encode()).hexdigest()[:32]


def _enabled() -> bool:
    """RATELIMIT_ENABLED=false (Flask-Limiter's own switch) turns the throttle off too."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def check(email: str, ip: str) -> None:
    """Refuse the attempt, whatever the password, while either limit is used up."""
    if not _enabled():
        return
    for item, identifiers in _limits(email, ip):
        if not limiter.limiter.test(item, *identifiers):
            reset_at, _remaining = limiter.limiter.get_window_stats(item, *identifiers)
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise RateLimited(
                "Too many failed sign-in attempts; try again later.",
                headers={"Retry-After": str(retry_after)},
            )


def record_failure(email: str, ip: str) -> None:
    if not _enabled():
        return
    for item, identifiers in _limits(email, ip):
        limiter.limiter.hit(item, *identifiers)
