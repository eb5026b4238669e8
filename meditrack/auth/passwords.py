"""argon2id hashing, with a dummy verify so unknown emails cost as much as known ones."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from meditrack.config import ARGON2_MEMORY_COST, ARGON2_PARALLELISM, ARGON2_TIME_COST

_hashers: dict[tuple[int, int], PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    time_cost = current_app.config.get("ARGON2_TIME_COST", ARGON2_TIME_COST)
    memory_cost = current_app.config.get("ARGON2_MEMORY_COST", ARGON2_MEMORY_COST)
    key = (time_cost, memory_cost)
    if key not in _hashers:
        _hashers[key] = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=ARGON2_PARALLELISM
        )
    return _hashers[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; an absent hash still spends the same time."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def _dummy_hash() -> str:
    key = "_dummy_hash"
    if key not in current_app.extensions:
        current_app.extensions[key] = _hasher().hash("not a real password, only for timing")
    return current_app.extensions[key]
