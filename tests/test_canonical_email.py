"""One canonical email (users/emails.py): what reaches an account counts against it.

Sign-in, registration, account lookup and the throttle compare one form: trimmed, NFKC,
case folded. A variant of an address reaches its account, and counts against that
account's limit, exactly when its canonical form is the account's.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from meditrack.extensions import db
from meditrack.users.emails import canonical_email
from tests.auth_helpers import assert_problem, login
from tests.conftest import count_rows

EMAIL_LIMIT = 5
WRONG = "definitely not it"
PASSWORD = "a long enough passphrase"

#: (address of the account, a variant that reaches it)
SAME_ACCOUNT = [
    pytest.param("ada@example.org", "ADA@Example.ORG", id="upper-case"),
    pytest.param("ada@example.org", "  ada@example.org ", id="surrounding-space"),
    pytest.param("ada@example.org", "\uff21\uff24\uff21@example.org", id="full-width-letters"),
    pytest.param("\u0130lkay@example.org", "i\u0307lkay@example.org", id="dotted-capital-I"),
    pytest.param("\u00e1da@example.org", "a\u0301da@example.org", id="decomposed-accent"),
    pytest.param("strasse@example.org", "STRA\u00dfE@example.org", id="sharp-s-is-ss"),
]
#: (address of the account, a different address that does not reach it)
OTHER_ACCOUNT = [
    pytest.param("\u0130lkay@example.org", "ilkay@example.org", id="dotted-capital-I-vs-i"),
    pytest.param("ilkay@example.org", "\u0130lkay@example.org", id="i-vs-dotted-capital-I"),
    pytest.param("\u0131lkay@example.org", "ilkay@example.org", id="dotless-i-vs-i"),
    pytest.param("ada@example.org", "\u00e1da@example.org", id="accented-letter"),
]


def register(client, email: str, name: str = "Ada Lovelace"):
    body = {"name": name, "email": email, "password": PASSWORD}
    return client.post("/auth/register", json=body)


def fail(client, email: str, times: int) -> None:
    for _ in range(times):
        assert_problem(login(client, email, WRONG), 401, "unauthorized")


@pytest.mark.parametrize(("stored", "variant"), SAME_ACCOUNT)
def test_a_variant_signs_in_to_the_account(client, make_account, stored, variant):
    account = make_account("patient", email=stored)
    response = login(client, variant, account.password)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["id"] == account.id


@pytest.mark.parametrize(("stored", "variant"), SAME_ACCOUNT)
def test_failures_with_a_variant_count_against_the_account(client, make_account, stored, variant):
    account = make_account("patient", email=stored)
    fail(client, variant, EMAIL_LIMIT)

    assert_problem(login(client, stored, account.password), 429, "rate_limited")
    assert_problem(login(client, variant, account.password), 429, "rate_limited")


def test_failures_spread_over_every_variant_share_one_count(client, make_account):
    account = make_account("patient", email="\u0130lkay@example.org")
    variants = [
        "\u0130lkay@example.org",
        "i\u0307lkay@example.org",
        "\u0130LKAY@example.org",
        " i\u0307lkay@EXAMPLE.org ",
        "\u0130lkay@\uff25xample.org",
    ]
    assert len({canonical_email(variant) for variant in variants}) == 1
    for variant in variants:
        fail(client, variant, 1)

    assert_problem(login(client, account.email, account.password), 429, "rate_limited")


@pytest.mark.parametrize(("stored", "other"), OTHER_ACCOUNT)
def test_another_address_neither_signs_in_nor_counts(client, make_account, stored, other):
    account = make_account("patient", email=stored)
    assert_problem(login(client, other, account.password), 401, "unauthorized")
    fail(client, other, EMAIL_LIMIT - 1)

    assert login(client, stored, account.password).status_code == 200
    # the other address has a count of its own, now used up
    assert_problem(login(client, other, account.password), 429, "rate_limited")


@pytest.mark.parametrize(("stored", "variant"), SAME_ACCOUNT)
def test_registering_a_variant_is_a_duplicate(app, client, stored, variant):
    assert register(client, stored).status_code == 201
    exact = assert_problem(register(client, stored, name="Another"), 409, "duplicate")

    # A combining mark (a decomposed accent, the dot of "i̇") is refused by the email check
    # as typed, for every address alike; every other variant gets the exact one's answer.
    response = register(client, variant, name="Another")
    if "\u0301" in variant or "\u0307" in variant:
        assert_problem(response, 422, "validation_error")
        assert "email" in response.get_json()["errors"]
    else:
        assert assert_problem(response, 409, "duplicate") == exact
    assert count_rows(app, "users") == 1


@pytest.mark.parametrize(("stored", "other"), OTHER_ACCOUNT)
def test_registering_another_address_is_another_account(app, client, stored, other):
    assert register(client, stored).status_code == 201
    assert register(client, other, name="Another").status_code == 201
    assert count_rows(app, "users") == 2


def test_the_address_is_shown_as_typed_and_keyed_canonically(app, client):
    response = register(client, " \u0130lkay.Stra\u00dfe@Example.org ")
    assert response.status_code == 201
    assert response.get_json()["user"]["email"] == "\u0130lkay.Stra\u00dfe@Example.org"
    with app.app_context():
        stored = db.session.execute(text("SELECT email, email_key FROM users")).one()
    assert tuple(stored) == (
        "\u0130lkay.Stra\u00dfe@Example.org",
        "i\u0307lkay.strasse@example.org",
    )


def test_an_address_that_grows_past_the_limit_when_folded_is_refused(app, client):
    # 127 + 1 + 126 = 254 characters as typed; each "ß" folds to "ss".
    email = "\u00df" * 127 + "@" + "e" * 122 + ".org"
    assert len(email) == 254
    response = register(client, email)
    assert_problem(response, 422, "validation_error")
    assert "email" in response.get_json()["errors"]
    assert count_rows(app, "users") == 0


def test_the_canonical_form_is_stable():
    for value in ("\u0130", "\u00df", "\uff21", "\u1e9e", "\ufb01", "\u03a3\u03c2", "\u2126"):
        once = canonical_email(value)
        assert canonical_email(once) == once, value


def test_create_admin_refuses_a_variant_of_an_existing_email(app, runner, make_account):
    make_account("patient", email="i\u0307lkay@example.org")
    result = runner.invoke(
        args=["create-admin", "--email", "\u0130LKAY@example.org", "--name", "Root"],
        env={"MEDITRACK_ADMIN_PASSWORD": "admin password 123"},
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count_rows(app, "users") == 1
