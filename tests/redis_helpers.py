"""The Redis the tests share: reached, or skipped (a failure under CI=true)."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def reachable_redis(purpose: str) -> redis.Redis:
    store = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=10)
    try:
        store.ping()
    except redis.RedisError as exc:
        message = f"Redis is unreachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the {purpose} tests must run)", pytrace=False)
        pytest.skip(message)
    return store
