"""Throttles: failed sign-ins per email and per client address, and self-registrations
per client address.

A sign-in takes a slot of each of its limits before the password is checked, keeps them
if the password was wrong and gives them back if it was right (core/slots.py): only
failures count, and however many guesses arrive at once, no more than the limit are ever
checked.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

from flask import current_app
from limits import RateLimitItem, RateLimitItemPerSecond, parse

from meditrack.core import slots
from meditrack.core.errors import RateLimited
from meditrack.extensions import limiter
from meditrack.users.emails import canonical_email


class Throttled(RateLimited):
    """A refused sign-in, with what refused it: `by` is "email" or "address", and `first`
    whether it is the first refusal of that email or address in the limit's window (the
    only one written to the audit trail, which anyone could otherwise grow at will)."""

    def __init__(self, detail: str, *, by: str, window_seconds: int, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.by = by
        self.window_seconds = window_seconds
        self.first = False


@dataclass
class Attempt:
    """The slots a sign-in holds while its password is checked: (key, token, window)."""

    held: list[tuple[str, str, int]] = field(default_factory=list)

    def keep(self) -> None:
        """Each slot is kept for its limit's window: it is a failure until then."""
        for key, token, seconds in self.held:
            slots.keep(key, token, seconds)
        self.held = []

    def give_back(self) -> None:
        for key, token, _seconds in self.held:
            slots.give_back(key, token)
        self.held = []


def begin(email: str, ip: str) -> Attempt:
    """Take a slot of the email's limit and of the address's, or refuse the attempt,
    whatever its password, while either limit is used up."""
    attempt = Attempt()
    if not _enabled():
        return attempt
    for by, item, key in _sign_in_limits(email, ip):
        try:
            attempt.held.append((key, slots.take(key, item.amount), item.get_expiry()))
        except slots.Full as full:
            attempt.give_back()
            refusal = Throttled(
                "Too many failed sign-in attempts; try again later.",
                by=by,
                window_seconds=item.get_expiry(),
                retry_after=full.retry_after,
            )
            refusal.first = _first_refusal(key, item)
            raise refusal from None
    return attempt


def check_registration(ip: str) -> None:
    """Count a registration without an admin's token against its address's limit. Every
    attempt counts, accepted or not: the answer to each says whether the email has an
    account, and this bounds how fast anyone can ask."""
    if not _enabled():
        return
    item = parse(current_app.config["MEDITRACK_REGISTER_IP_LIMIT"])
    identifiers = (*_prefix(), "register-ip", ip)
    if not limiter.limiter.hit(item, *identifiers):
        reset_at, _remaining = limiter.limiter.get_window_stats(item, *identifiers)
        raise RateLimited(
            "Too many registrations from this address; try again later.",
            headers={"Retry-After": str(max(1, math.ceil(reset_at - time.time())))},
        )


def _sign_in_limits(email: str, ip: str) -> list[tuple[str, RateLimitItem, str]]:
    config = current_app.config
    return [
        (
            "email",
            parse(config["MEDITRACK_LOGIN_EMAIL_LIMIT"]),
            _key("login-email", _digest(email)),
        ),
        ("address", parse(config["MEDITRACK_LOGIN_IP_LIMIT"]), _key("login-ip", ip)),
    ]


def _first_refusal(key: str, item: RateLimitItem) -> bool:
    """True once per key per window of the limit that refused it."""
    once = RateLimitItemPerSecond(1, item.get_expiry())
    return limiter.limiter.hit(once, f"{key}/refused")


def _prefix() -> tuple[str, ...]:
    """RATELIMIT_KEY_PREFIX leads every key, as Flask-Limiter does for its own limits, so
    that several deployments can share one Redis without sharing counters."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return (prefix,) if prefix else ()


def _key(*parts: str) -> str:
    return "/".join((*_prefix(), *parts))


def _digest(email: str) -> str:
    """Keyed by a digest of the canonical form, the one the account lookup compares:
    every variant that reaches an account counts against it. The store (Redis) never
    holds an address."""
    return hashlib.sha256(canonical_email(email).encode()).hexdigest()[:32]


def _enabled() -> bool:
    """RATELIMIT_ENABLED=false (Flask-Limiter's own switch) turns the throttles off too."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))
