"""Login throttling: only failed attempts count, per email and per client address."""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse

from meditrack.core.errors import RateLimited
from meditrack.extensions import limiter


def _limits(email: str, ip: str) -> list[tuple[RateLimitItem, str, str]]:
    config = current_app.config
    return [
        (parse(config["MEDITRACK_LOGIN_EMAIL_LIMIT"]), "login-email", email.lower()),
        (parse(config["MEDITRACK_LOGIN_IP_LIMIT"]), "login-ip", ip),
    ]


def check(email: str, ip: str) -> None:
    """Refuse the attempt, whatever the password, while either limit is used up."""
    for item, scope, key in _limits(email, ip):
        if not limiter.limiter.test(item, scope, key):
            reset_at, _remaining = limiter.limiter.get_window_stats(item, scope, key)
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise RateLimited(
                "Too many failed sign-in attempts; try again later.",
                headers={"Retry-After": str(retry_after)},
            )


def record_failure(email: str, ip: str) -> None:
    for item, scope, key in _limits(email, ip):
        limiter.limiter.hit(item, scope, key)
