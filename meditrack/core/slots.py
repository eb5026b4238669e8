"""Slots: a limit on attempts whose outcome is known only afterwards.

A failed sign-in counts against a limit; a successful one does not. Checking the count
first and recording the failure afterwards lets every attempt that arrives during the
check through: forty guesses sent together all pass the check before the first one is
recorded. So an attempt takes a slot before it is tried, atomically (only while fewer
than `limit` are held), and then either keeps it, as a failure counted for the limit's
window, or gives it back.

A slot being tried is held for LEASE_SECONDS at most (a server that dies mid-attempt
frees it). An attempt that finds every slot held, some of them by attempts still being
tried, waits for them for up to WAIT_SECONDS rather than being refused: legitimate
sign-ins that arrive together are slowed down by one password check, not turned away.

The slots live where Flask-Limiter keeps its counters (RATELIMIT_STORAGE_URI): in this
process for `memory://`, in Redis for `redis://` and `rediss://`, shared by every server.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass

import redis
from flask import Flask, current_app

EXTENSION = "meditrack.slots"
LEASE_SECONDS = 10.0
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.02
SWEEP_SECONDS = 60.0


class Full(Exception):
    """Every slot is held; the first one frees up in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Busy:
    """No slot was free. `settling`: some are held by attempts still being tried, and may
    be given back at any moment; `seconds`: until the first one expires."""

    settling: bool
    seconds: float


def take(key: str, limit: int) -> str:
    """A slot of `key` (its token), or Full."""
    store = current()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        outcome = store.try_take(key, limit)
        if isinstance(outcome, str):
            return outcome
        if not outcome.settling or time.monotonic() >= deadline:
            raise Full(max(1, math.ceil(outcome.seconds)))
        time.sleep(POLL_SECONDS)


def keep(key: str, token: str, seconds: float) -> None:
    """The attempt counts: its slot is held for `seconds` from now."""
    current().keep(key, token, seconds)


def give_back(key: str, token: str) -> None:
    current().give_back(key, token)


class MemorySlots:
    """Slots of this process: key -> {token: (expiry on the monotonic clock, pending)}."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, tuple[float, bool]]] = {}
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def try_take(self, key: str, limit: int) -> str | Busy:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            held = self._held.setdefault(key, {})
            for token in [token for token, (expiry, _) in held.items() if expiry <= now]:
                del held[token]
            if len(held) >= limit:
                first = min(expiry for expiry, _ in held.values())
                settling = any(pending for _, pending in held.values())
                return Busy(settling=settling, seconds=first - now)
            token = uuid.uuid4().hex
            held[token] = (now + LEASE_SECONDS, True)
            return token

    def keep(self, key: str, token: str, seconds: float) -> None:
        with self._lock:
            self._held.setdefault(key, {})[token] = (time.monotonic() + seconds, False)

    def give_back(self, key: str, token: str) -> None:
        with self._lock:
            held = self._held.get(key, {})
            held.pop(token, None)
            if not held:
                self._held.pop(key, None)

    def reset(self) -> None:
        with self._lock:
            self._held.clear()

    def _sweep(self, now: float) -> None:
        """Forget keys whose slots have all expired, so that guesses at a million emails
        do not keep a million keys."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        for key, held in list(self._held.items()):
            if max((expiry for expiry, _ in held.values()), default=0) <= now:
                del self._held[key]


# One sorted set per key, a member per slot scored by its expiry in milliseconds of Redis'
# own clock (servers with different clocks agree): "p:<token>" while its attempt is being
# tried, "f:<token>" once it counts as a failure. The key expires with its last slot. Each
# script runs atomically: nothing else sees the count between the check and the ZADD.
_NOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
"""
_EXPIRE_WITH_LAST = """
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
"""
# ARGV: limit, lease in ms, token. Returns {-1, 0} when taken, else {settling (1 when
# some slot is pending, else 0), ms until the first slot expires}.
TAKE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local held = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
if #held / 2 >= tonumber(ARGV[1]) then
  local settling = 0
  for i = 1, #held, 2 do
    if string.sub(held[i], 1, 2) == 'p:' then settling = 1 end
  end
  return {settling, tonumber(held[2]) - now_ms}
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), 'p:' .. ARGV[3])
"""
    + _EXPIRE_WITH_LAST
    + "return {-1, 0}"
)
# ARGV: seconds in ms, token.
KEEP = (
    _NOW
    + """
redis.call('ZREM', KEYS[1], 'p:' .. ARGV[2])
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[1]), 'f:' .. ARGV[2])
"""
    + _EXPIRE_WITH_LAST
)


class RedisSlots:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._take = self._redis.register_script(TAKE)
        self._keep = self._redis.register_script(KEEP)

    def try_take(self, key: str, limit: int) -> str | Busy:
        token = uuid.uuid4().hex
        settling, wait_ms = self._take(keys=[key], args=[limit, _ms(LEASE_SECONDS), token])
        if settling < 0:
            return token
        return Busy(settling=bool(settling), seconds=wait_ms / 1000)

    def keep(self, key: str, token: str, seconds: float) -> None:
        self._keep(keys=[key], args=[_ms(seconds), token])

    def give_back(self, key: str, token: str) -> None:
        self._redis.zrem(key, f"p:{token}")

    def reset(self) -> None:
        """Nothing to do: keys carry the deployment's prefix and expire on their own."""


Slots = MemorySlots | RedisSlots


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = _open(app.config["RATELIMIT_STORAGE_URI"])


def _open(url: str) -> Slots:
    scheme = url.partition("://")[0]
    if scheme == "memory":
        return MemorySlots()
    if scheme in ("redis", "rediss"):
        return RedisSlots(url)
    raise ValueError(
        f"RATELIMIT_STORAGE_URI {scheme}:// is not supported for sign-in limits; "
        "use memory:// (one process) or redis:// / rediss:// (several)."
    )


def current() -> Slots:
    return current_app.extensions[EXTENSION]


def reset(app: Flask) -> None:
    """Give back every slot of this process (tests start from no failures)."""
    app.extensions[EXTENSION].reset()


def _ms(seconds: float) -> int:
    return math.ceil(seconds * 1000)
