"""Login throttling: failed attempts per email and per client address."""

from __future__ import annotations

import time

import pytest

from meditrack import create_app
from tests.audit_helpers import last_event_id, stored_events
from tests.auth_helpers import assert_problem, login
from tests.conftest import TEST_CONFIG, count_rows

EMAIL_LIMIT = 5
WRONG = "definitely not it"
PASSWORD = "a long enough passphrase"


@pytest.fixture
def account(make_account):
    return make_account("patient")


def fail(client, email: str, times: int, **kwargs) -> None:
    for _ in range(times):
        assert_problem(login(client, email, WRONG, **kwargs), 401, "unauthorized")


def assert_throttled(response) -> int:
    """A 429 rate_limited with a Retry-After in whole seconds; returns those seconds."""
    assert_problem(response, 429, "rate_limited")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert int(retry_after) > 0
    return int(retry_after)


def from_address(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_five_failures_lock_the_email_even_for_the_right_password(client, account):
    fail(client, account.email, EMAIL_LIMIT)

    assert_throttled(login(client, account.email, WRONG))
    seconds = assert_throttled(login(client, account.email, account.password))
    assert seconds <= 15 * 60


def test_four_failures_do_not_lock_the_email(client, account):
    fail(client, account.email, EMAIL_LIMIT - 1)
    assert login(client, account.email, account.password).status_code == 200


def test_the_email_limit_ignores_case(client, account):
    fail(client, account.email.upper(), EMAIL_LIMIT)
    assert_throttled(login(client, account.email, account.password))


def test_the_email_limit_counts_unknown_emails_too(client):
    fail(client, "ghost@example.org", EMAIL_LIMIT)
    assert_throttled(login(client, "ghost@example.org", WRONG))


def test_other_emails_are_not_affected(client, account, make_account):
    other = make_account("patient")
    fail(client, account.email, EMAIL_LIMIT)

    assert login(client, other.email, other.password).status_code == 200
    assert_problem(login(client, other.email, WRONG), 401, "unauthorized")


def test_the_email_limit_holds_from_any_address(client, account):
    fail(client, account.email, EMAIL_LIMIT, **from_address("10.0.0.1"))
    assert_throttled(login(client, account.email, account.password, **from_address("10.0.0.2")))


def test_successful_logins_neither_count_nor_reset(client, account):
    for _ in range(EMAIL_LIMIT + 1):
        assert login(client, account.email, account.password).status_code == 200

    fail(client, account.email, EMAIL_LIMIT - 1)
    assert login(client, account.email, account.password).status_code == 200
    fail(client, account.email, 1)

    assert_throttled(login(client, account.email, account.password))


def test_the_address_limit_blocks_every_email_from_that_address(
    app, client, make_account, monkeypatch
):
    monkeypatch.setitem(app.config, "MEDITRACK_LOGIN_IP_LIMIT", "3 per 15 minutes")
    here, elsewhere = from_address("10.1.1.1"), from_address("10.1.1.2")
    victims = [make_account("patient") for _ in range(3)]
    bystander = make_account("patient")
    for victim in victims:
        fail(client, victim.email, 1, **here)

    assert_throttled(login(client, bystander.email, bystander.password, **here))
    assert_throttled(login(client, "someone@example.org", WRONG, **here))
    assert login(client, bystander.email, bystander.password, **elsewhere).status_code == 200
    assert login(client, victims[0].email, victims[0].password, **elsewhere).status_code == 200


def test_the_address_limit_below_its_threshold(app, client, account, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_LOGIN_IP_LIMIT", "3 per 15 minutes")
    fail(client, "first@example.org", 1)
    fail(client, "second@example.org", 1)
    assert login(client, account.email, account.password).status_code == 200


def test_the_email_limit_is_a_setting(app, client, account, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_LOGIN_EMAIL_LIMIT", "2 per 15 minutes")
    fail(client, account.email, 2)
    assert_throttled(login(client, account.email, account.password))


def change_password(client, account, current: str):
    return client.put(
        "/auth/password",
        json={"current_password": current, "new_password": "a brand new password"},
        headers=account.headers,
    )


def test_wrong_current_passwords_count_like_failed_sign_ins(client, account):
    for _ in range(EMAIL_LIMIT):
        assert_problem(change_password(client, account, WRONG), 422, "validation_error")

    assert_throttled(change_password(client, account, account.password))
    assert_throttled(login(client, account.email, account.password))


def test_rate_limits_switched_off_let_every_attempt_through(app, client, account, monkeypatch):
    """RATELIMIT_ENABLED=false (for a load test, say) switches the throttle off; it does not
    turn sign-in into a server error."""
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    fail(client, account.email, EMAIL_LIMIT + 3)
    assert login(client, account.email, account.password).status_code == 200


# --- What the refusals leave in the audit trail ---------------------------------------


def login_events(app, after: int) -> list[dict]:
    return [event for event in stored_events(app, after) if event["action"] == "login"]


def test_refused_attempts_write_one_event_per_email_per_window(app, client, account):
    """Anyone can send refused attempts without limit; each writing a permanent row would
    let them grow the append-only trail at will."""
    fail(client, account.email, EMAIL_LIMIT)
    before = last_event_id(app)

    for address in ("10.2.0.1", "10.2.0.2", "10.2.0.3"):
        for _ in range(10):
            assert_throttled(login(client, account.email, WRONG, **from_address(address)))

    (event,) = login_events(app, before)
    assert event["outcome"] == "denied"
    assert event["resource_id"] == account.id
    assert event["details"] == {"throttled_by": "email", "window_seconds": 15 * 60}


def test_refused_attempts_write_one_event_per_address_per_window(app, client, monkeypatch):
    """Spraying many emails from one address: the address's limit refuses them all, in one
    event, not one per email."""
    monkeypatch.setitem(app.config, "MEDITRACK_LOGIN_IP_LIMIT", "3 per 15 minutes")
    for n in range(3):
        fail(client, f"first{n}@example.org", 1)
    before = last_event_id(app)

    for n in range(25):
        assert_throttled(login(client, f"sprayed{n}@example.org", WRONG))

    (event,) = login_events(app, before)
    assert event["outcome"] == "denied"
    assert event["details"] == {"throttled_by": "address", "window_seconds": 15 * 60}


def test_a_new_window_writes_a_new_event(app, client, account, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_LOGIN_EMAIL_LIMIT", "1 per 1 second")
    before = last_event_id(app)
    for _ in range(2):
        fail(client, account.email, 1)
        for _ in range(5):
            assert_throttled(login(client, account.email, WRONG))
        time.sleep(1.1)

    outcomes = [event["outcome"] for event in login_events(app, before)]
    assert outcomes == ["failed", "denied", "failed", "denied"]


# --- Registration ---------------------------------------------------------------------


def register(client, n: int, **kwargs):
    body = {"name": f"Newcomer {n}", "email": f"newcomer{n}@example.org", "password": PASSWORD}
    return client.post("/auth/register", json=body, **kwargs)


def test_registrations_are_limited_per_address(app, client, monkeypatch):
    """Every registration without an admin's token counts, accepted or not: each answer
    says whether an email has an account."""
    monkeypatch.setitem(app.config, "MEDITRACK_REGISTER_IP_LIMIT", "3 per hour")
    assert register(client, 1).status_code == 201
    assert_problem(register(client, 1), 409, "duplicate")
    assert register(client, 2).status_code == 201
    users = count_rows(app, "users")

    seconds = assert_throttled(register(client, 3))
    assert seconds <= 3600
    assert_throttled(register(client, 1))  # nor is a known email told apart
    assert count_rows(app, "users") == users

    assert register(client, 3, **from_address("10.3.0.9")).status_code == 201


def test_the_default_registration_limit(app, client):
    assert app.config["MEDITRACK_REGISTER_IP_LIMIT"] == "20 per hour"
    for n in range(20):
        assert register(client, n).status_code == 201
    assert_throttled(register(client, 20))


def test_admins_creating_accounts_are_not_limited(app, client, make_account, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_REGISTER_IP_LIMIT", "1 per hour")
    admin = make_account("admin")
    for n in range(3):
        body = {"name": f"Nurse {n}", "email": f"nurse{n}@example.org", "password": PASSWORD}
        response = client.post(
            "/auth/register", json={**body, "role": "receptionist"}, headers=admin.headers
        )
        assert response.status_code == 201, response.get_json()
    assert register(client, 1).status_code == 201
    assert_throttled(register(client, 2))


def test_other_callers_with_a_token_are_limited_like_anyone(app, client, account, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_REGISTER_IP_LIMIT", "1 per hour")
    assert register(client, 1, headers=account.headers).status_code == 201
    assert_throttled(register(client, 2, headers=account.headers))


def test_registration_refused_by_the_schema_does_not_count(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_REGISTER_IP_LIMIT", "1 per hour")
    for _ in range(3):
        assert_problem(client.post("/auth/register", json={}), 422, "validation_error")
    assert register(client, 1).status_code == 201


# --- Declared and configured ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [("/auth/login", "post"), ("/auth/register", "post"), ("/auth/password", "put")],
)
def test_the_spec_declares_the_429_and_its_retry_after(client, path, method):
    spec = client.get("/openapi.json").get_json()
    answer = spec["paths"][path][method]["responses"]["429"]
    assert "application/problem+json" in answer["content"]
    header = answer["headers"]["Retry-After"]["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["headers"][header]["schema"]["type"] == "integer"


def test_a_store_the_limits_cannot_use_is_refused_at_start():
    with pytest.raises(ValueError, match=r"redis\+sentinel:// is not supported"):
        create_app(
            {**TEST_CONFIG, "RATELIMIT_STORAGE_URI": "redis+sentinel://localhost:26379/main"}
        )
