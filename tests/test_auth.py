"""Registration, sign-in, the signed-in account and the create-admin command."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from meditrack import config as settings
from meditrack.extensions import db
from meditrack.users.models import User
from tests.auth_helpers import assert_invalid, assert_problem, bearer, login, stored_user
from tests.conftest import count_rows

USER_KEYS = {"id", "name", "email", "role", "is_active", "patient_id", "doctor_id", "created_at"}
PASSWORD = "a long enough passphrase"
STAFF_ROLES = ("receptionist", "doctor", "admin")


def registration(**fields) -> dict:
    return {"name": "Ada Lovelace", "email": "ada@example.org", "password": PASSWORD, **fields}


def register(client, headers=None, **fields):
    return client.post("/auth/register", json=registration(**fields), headers=headers)


def assert_no_secret(response) -> None:
    text = response.get_data(as_text=True)
    assert PASSWORD not in text
    assert "password" not in text
    assert "hash" not in text
    assert "$argon2" not in text


# --- POST /auth/register -------------------------------------------------------------


def test_anonymous_registration_creates_a_patient_and_signs_it_in(app, client):
    response = register(client)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"user", "access_token", "refresh_token"}
    user = body["user"]
    assert set(user) == USER_KEYS
    assert user["role"] == "patient"
    assert user["email"] == "ada@example.org"
    assert user["is_active"] is True
    assert user["patient_id"] is None and user["doctor_id"] is None
    assert_no_secret(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert stored_user(app, user["id"])["role"] == "patient"

    me = client.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == user["id"]


def test_explicit_patient_role_is_allowed_anonymously(client):
    response = register(client, role="patient")
    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "patient"


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_anonymous_cannot_register_staff(app, client, role):
    assert_problem(register(client, role=role), 403, "forbidden")
    assert count_rows(app, "users") == 0


@pytest.mark.parametrize("caller", ["receptionist", "doctor", "patient"])
def test_only_an_admin_token_may_register_staff(app, client, make_account, caller):
    account = make_account(caller)
    response = register(client, headers=account.headers, role="receptionist")
    assert_problem(response, 403, "forbidden")
    assert count_rows(app, "users") == 1


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_admin_registers_every_staff_role(app, client, admin, role):
    response = register(client, headers=admin.headers, role=role)

    assert response.status_code == 201
    user = response.get_json()["user"]
    assert user["role"] == role
    assert response.headers["Location"].endswith(f"/users/{user['id']}")
    assert stored_user(app, user["id"])["role"] == role
    assert_no_secret(response)


def test_registration_with_an_invalid_token_is_refused(app, client):
    response = register(client, headers=bearer("not-a-jwt"))
    assert_problem(response, 401, "unauthorized")
    assert count_rows(app, "users") == 0


def test_email_is_unique_case_insensitively(app, client):
    assert register(client, email="ada@example.org").status_code == 201

    response = register(client, email="ADA@Example.ORG", name="Another Ada")

    assert_problem(response, 409, "duplicate")
    assert count_rows(app, "users") == 1


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("x" * 9, id="9-characters"),
        pytest.param("x" * 129, id="129-characters"),
        pytest.param("ada@example.org", id="equal-to-email"),
        pytest.param("ADA@EXAMPLE.ORG", id="email-in-other-case"),
        pytest.param("Ada Lovelace", id="equal-to-name"),
    ],
)
def test_password_rules(app, client, password):
    assert_invalid(register(client, password=password), "password")
    assert count_rows(app, "users") == 0


@pytest.mark.parametrize("length", [10, 128])
def test_password_length_bounds_are_inclusive(client, length):
    assert register(client, password="p" * length).status_code == 201


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"nickname": "Ada"}, "nickname", id="unknown-field"),
        pytest.param({"id": 7}, "id", id="read-only-id"),
        pytest.param({"is_active": False}, "is_active", id="not-settable"),
        pytest.param({"role": "superuser"}, "role", id="unknown-role"),
        pytest.param({"email": "not-an-email"}, "email", id="invalid-email"),
        pytest.param({"name": "   "}, "name", id="blank-name"),
    ],
)
def test_invalid_registrations_name_the_field(app, client, extra, field):
    assert_invalid(register(client, **extra), field)
    assert count_rows(app, "users") == 0


def test_registration_requires_name_email_and_password(client):
    response = client.post("/auth/register", json={})
    assert_invalid(response, "name", "email", "password")


# --- POST /auth/login ----------------------------------------------------------------


def test_login_returns_a_bearer_pair_and_the_user(client, make_account):
    account = make_account("receptionist")

    response = login(client, account.email, account.password)

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"]["id"] == account.id
    assert set(body["user"]) == USER_KEYS
    assert body["access_token"] and body["refresh_token"]
    assert_no_secret(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/auth/me", headers=bearer(body["access_token"])).status_code == 200


def test_login_matches_the_email_case_insensitively(client, make_account):
    account = make_account("patient", email="Mixed.Case@Example.org")
    response = login(client, "mixed.case@EXAMPLE.ORG", account.password)
    assert response.status_code == 200
    assert response.get_json()["user"]["id"] == account.id


def test_login_ignores_white_space_around_the_email(client, make_account):
    account = make_account("patient")
    assert login(client, f"  {account.email} ", account.password).status_code == 200


def test_login_with_a_non_ascii_email_as_registered(client):
    assert register(client, email="ÄNNE@example.org").status_code == 201
    assert login(client, "ÄNNE@example.org", PASSWORD).status_code == 200
    assert login(client, "ÄNNE@EXAMPLE.ORG", PASSWORD).status_code == 200


def test_wrong_password_and_unknown_email_look_the_same(client, make_account):
    account = make_account("patient")

    wrong_password = assert_problem(
        login(client, account.email, "not the password"), 401, "unauthorized"
    )
    unknown_email = assert_problem(
        login(client, "nobody@example.org", account.password), 401, "unauthorized"
    )

    assert wrong_password == unknown_email


def test_inactive_user_cannot_log_in(client, admin, make_account):
    account = make_account("patient")
    deactivated = client.patch(
        f"/users/{account.id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200

    response = login(client, account.email, account.password)

    body = assert_problem(response, 401, "unauthorized")
    assert "access_token" not in body


def test_login_validates_its_body(client):
    assert_invalid(client.post("/auth/login", json={"email": "a@example.org"}), "password")
    assert_invalid(
        client.post("/auth/login", json={"email": "a@example.org", "password": "x", "otp": 1}),
        "otp",
    )


def stored_hash(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def test_a_hash_made_with_older_settings_is_replaced_at_the_next_sign_in(
    app, client, make_account, monkeypatch
):
    """Hashes of the earlier default (64 MiB, 3 passes, 4 lanes) still verify, and the
    first sign-in stores one made with the current default (19 MiB, 2 passes, 1 lane)."""
    account = make_account("receptionist")
    older = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(account.password)
    with app.app_context():
        db.session.get(User, account.id).password_hash = older
        db.session.commit()
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", settings.ARGON2_TIME_COST)
    monkeypatch.setitem(app.config, "ARGON2_MEMORY_COST", settings.ARGON2_MEMORY_COST)

    assert login(client, account.email, account.password).status_code == 200

    rehashed = stored_hash(app, account.id)
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(rehashed, account.password)
    # the next sign-in keeps it
    assert login(client, account.email, account.password).status_code == 200
    assert stored_hash(app, account.id) == rehashed


def test_argon2_settings_default_to_owasp_and_may_be_set(tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("ARGON2_TIME_COST", raising=False)
    monkeypatch.delenv("ARGON2_MEMORY_COST", raising=False)
    loaded = settings.load(tmp_path)
    assert (loaded["ARGON2_TIME_COST"], loaded["ARGON2_MEMORY_COST"]) == (2, 19456)

    monkeypatch.setenv("ARGON2_TIME_COST", "3")
    monkeypatch.setenv("ARGON2_MEMORY_COST", "47104")
    loaded = settings.load(tmp_path)
    assert (loaded["ARGON2_TIME_COST"], loaded["ARGON2_MEMORY_COST"]) == (3, 47104)

    for value in ("0", "-1", "lots"):
        monkeypatch.setenv("ARGON2_TIME_COST", value)
        with pytest.raises(settings.ConfigError):
            settings.load(tmp_path)


# --- GET /auth/me --------------------------------------------------------------------


def test_me_returns_exactly_the_user_object(client, make_account):
    account = make_account("receptionist", name="Rita Reception")

    response = client.get("/auth/me", headers=account.headers)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == USER_KEYS
    assert body == {
        **body,
        "id": account.id,
        "name": "Rita Reception",
        "email": account.email,
        "role": "receptionist",
        "is_active": True,
        "patient_id": None,
        "doctor_id": None,
    }
    assert body["created_at"].endswith("+00:00")


def test_me_links_a_patient_record(client, patient_account):
    account, patient = patient_account
    body = client.get("/auth/me", headers=account.headers).get_json()
    assert body["patient_id"] == patient["id"]
    assert body["doctor_id"] is None


def test_me_links_a_doctor_record(client, doctor_account):
    account, doctor = doctor_account
    body = client.get("/auth/me", headers=account.headers).get_json()
    assert body["doctor_id"] == doctor["id"]
    assert body["patient_id"] is None


def test_me_needs_a_token(client):
    assert_problem(client.get("/auth/me"), 401, "unauthorized")


# --- flask create-admin --------------------------------------------------------------


def create_admin(runner, email="root@example.org", password="admin password 123"):
    return runner.invoke(
        args=["create-admin", "--email", email, "--name", "Root Admin"],
        env={"MEDITRACK_ADMIN_PASSWORD": password},
    )


def test_create_admin_makes_an_admin_who_can_log_in(client, runner):
    result = create_admin(runner)

    assert result.exit_code == 0, result.output
    response = login(client, "root@example.org", "admin password 123")
    assert response.status_code == 200
    assert response.get_json()["user"]["role"] == "admin"


def test_create_admin_refuses_an_existing_email(app, runner):
    assert create_admin(runner).exit_code == 0

    again = create_admin(runner, email="ROOT@example.org")

    assert again.exit_code != 0
    assert "already exists" in again.output
    assert count_rows(app, "users") == 1


def test_create_admin_refuses_a_short_password(app, runner):
    result = create_admin(runner, password="short")
    assert result.exit_code != 0
    assert "password" in result.output
    assert count_rows(app, "users") == 0
