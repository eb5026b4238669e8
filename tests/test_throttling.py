"""Login throttling: failed attempts per email and per client address."""

from __future__ import annotations

import pytest

from tests.auth_helpers import assert_problem, login

EMAIL_LIMIT = 5
WRONG = "definitely not it"


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
