"""The sign-in limits hold however many attempts arrive at once.

Each test sends its attempts from threads that wait at a barrier, so that they reach the
server together, against both stores a deployment can use: memory (one process) and
Redis (several servers). Before the slots (meditrack/core/slots.py), forty wrong
passwords sent together got nine answers of 401 with a limit of five.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from meditrack.core import slots
from tests.audit_helpers import last_event_id, stored_events
from tests.auth_helpers import login
from tests.redis_helpers import REDIS_URL, reachable_redis

EMAIL_LIMIT = 5
PARALLEL = 40
WRONG = "definitely not it"


@pytest.fixture(params=["memory", "redis"])
def storage(request, app, monkeypatch) -> str:
    """The app's slots in this store, under a key prefix of this test alone."""
    if request.param == "redis":
        reachable_redis("throttling")
        monkeypatch.setitem(app.extensions, slots.EXTENSION, slots.RedisSlots(REDIS_URL))
    monkeypatch.setitem(app.config, "RATELIMIT_KEY_PREFIX", f"meditrack-test-{uuid.uuid4().hex}")
    return request.param


def at_once(app, attempts: list[tuple[str, str]]) -> Counter:
    """Sign in with each (email, password) from its own thread, all released together;
    the count of each status code."""
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = []

    def attempt(email: str, password: str) -> None:
        client = app.test_client()
        barrier.wait(30)
        statuses.append(login(client, email, password).status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == len(attempts), "an attempt did not finish"
    return Counter(statuses)


def login_events(app, after: int) -> Counter:
    return Counter(
        event["outcome"] for event in stored_events(app, after) if event["action"] == "login"
    )


def test_parallel_wrong_passwords_get_exactly_the_limit_through(app, storage, make_account):
    account = make_account("patient")
    before = last_event_id(app)

    statuses = at_once(app, [(account.email, WRONG)] * PARALLEL)

    assert statuses == {401: EMAIL_LIMIT, 429: PARALLEL - EMAIL_LIMIT}, statuses
    assert login(app.test_client(), account.email, account.password).status_code == 429
    # Five failures, and one refusal for the whole window: not one row per 429.
    assert login_events(app, before) == {"failed": EMAIL_LIMIT, "denied": 1}


def test_parallel_guesses_from_one_address_get_exactly_its_limit_through(
    app, storage, make_account, monkeypatch
):
    monkeypatch.setitem(app.config, "MEDITRACK_LOGIN_IP_LIMIT", "5 per 15 minutes")
    emails = [f"guess{n}@example.org" for n in range(PARALLEL)]

    statuses = at_once(app, [(email, WRONG) for email in emails])

    assert statuses == {401: 5, 429: PARALLEL - 5}, statuses
    bystander = make_account("patient")
    assert login(app.test_client(), bystander.email, bystander.password).status_code == 429


def test_parallel_right_passwords_all_get_in_and_count_nothing(app, storage, make_account):
    """More sign-ins than the limit arriving together with the right password wait for
    each other's check instead of being refused, and leave no failure behind."""
    account = make_account("patient")

    statuses = at_once(app, [(account.email, account.password)] * (3 * EMAIL_LIMIT))

    assert statuses == {200: 3 * EMAIL_LIMIT}, statuses
    client = app.test_client()
    for _ in range(EMAIL_LIMIT):
        assert login(client, account.email, WRONG).status_code == 401
    assert login(client, account.email, account.password).status_code == 429


def test_right_and_wrong_passwords_together_count_only_the_wrong_ones(app, storage, make_account):
    account = make_account("patient")
    attempts = [(account.email, WRONG)] * (EMAIL_LIMIT - 1) + [
        (account.email, account.password)
    ] * (2 * EMAIL_LIMIT)

    statuses = at_once(app, attempts)

    assert statuses == {401: EMAIL_LIMIT - 1, 200: 2 * EMAIL_LIMIT}, statuses
    client = app.test_client()
    assert login(client, account.email, WRONG).status_code == 401
    assert login(client, account.email, account.password).status_code == 429
