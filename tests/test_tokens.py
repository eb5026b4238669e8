"""Access and refresh tokens: what makes one invalid, and what revokes a login."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import text

from meditrack.extensions import db
from tests.auth_helpers import assert_invalid, assert_problem, bearer, login, sign_in

NEW_PASSWORD = "a brand new passphrase"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value).encode())


def claims_of(app, token: str) -> dict:
    with app.app_context():
        return decode_token(token)


def me(client, token: str):
    return client.get("/auth/me", headers=bearer(token))


def refresh(client, refresh_token: str):
    return client.post("/auth/refresh", headers=bearer(refresh_token))


# --- tokens that are not valid -------------------------------------------------------


def test_a_valid_access_token_works(client, make_account):
    account = make_account("patient")
    response = me(client, account.access_token)
    assert response.status_code == 200
    assert response.get_json()["id"] == account.id


def test_expired_access_token(app, client, make_account):
    account = make_account("patient")
    sid = claims_of(app, account.access_token)["sid"]
    with app.app_context():
        expired = create_access_token(
            identity=str(account.id),
            additional_claims={"sid": sid},
            expires_delta=timedelta(seconds=-1),
        )

    assert_problem(me(client, expired), 401, "token_expired")


def test_expired_refresh_token(app, client, make_account):
    account = make_account("patient")
    claims = claims_of(app, account.refresh_token)
    with app.app_context():
        expired = create_refresh_token(
            identity=str(account.id),
            additional_claims={"sid": claims["sid"], "jti": claims["jti"]},
            expires_delta=timedelta(seconds=-1),
        )

    assert_problem(refresh(client, expired), 401, "token_expired")


def test_tampered_signature(client, make_account):
    account = make_account("patient")
    header, payload, signature = account.access_token.split(".")
    # The first character carries six significant bits, so this always changes the MAC.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_problem(me(client, f"{header}.{payload}.{flipped}"), 401, "unauthorized")


def test_tampered_payload(app, client, make_account):
    victim = make_account("admin")
    attacker = make_account("patient")
    header, _payload, signature = attacker.access_token.split(".")
    claims = {**claims_of(app, attacker.access_token), "sub": str(victim.id)}

    forged = f"{header}.{b64url_json(claims)}.{signature}"

    assert_problem(me(client, forged), 401, "unauthorized")


def test_unsigned_alg_none_token(app, client, make_account):
    account = make_account("admin")
    claims = claims_of(app, account.access_token)
    unsigned = f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(claims)}."

    assert_problem(me(client, unsigned), 401, "unauthorized")
    assert_problem(client.get("/users", headers=bearer(unsigned)), 401, "unauthorized")


def test_token_signed_with_another_algorithm(app, client, make_account):
    account = make_account("admin")
    claims = claims_of(app, account.access_token)
    other = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS384")

    assert_problem(me(client, other), 401, "unauthorized")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer not-a-jwt", id="garbage"),
        pytest.param("Bearer ", id="empty"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
    ],
)
def test_malformed_authorization_header(client, authorization):
    response = client.get("/auth/me", headers={"Authorization": authorization})
    assert_problem(response, 401, "unauthorized")


def test_missing_authorization_header(client):
    assert_problem(client.get("/auth/me"), 401, "unauthorized")
    assert_problem(client.post("/auth/refresh"), 401, "unauthorized")


def test_refresh_token_is_not_an_access_token(client, make_account):
    account = make_account("admin")
    assert_problem(me(client, account.refresh_token), 401, "unauthorized")
    assert_problem(client.get("/users", headers=bearer(account.refresh_token)), 401, "unauthorized")


def test_access_token_is_not_a_refresh_token(client, make_account):
    account = make_account("patient")
    assert_problem(refresh(client, account.access_token), 401, "unauthorized")


# --- logout --------------------------------------------------------------------------


def test_logout_revokes_both_tokens_of_that_login_only(client, make_account):
    account = make_account("patient")
    other_login = sign_in(client, account.email, account.password)

    response = client.post("/auth/logout", headers=account.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(me(client, account.access_token), 401, "token_revoked")
    assert_problem(refresh(client, account.refresh_token), 401, "token_revoked")
    assert me(client, other_login["access_token"]).status_code == 200
    assert refresh(client, other_login["refresh_token"]).status_code == 200


def test_logout_needs_an_access_token(client, make_account):
    account = make_account("patient")
    assert_problem(
        client.post("/auth/logout", headers=bearer(account.refresh_token)), 401, "unauthorized"
    )
    assert me(client, account.access_token).status_code == 200


# --- refresh rotation ----------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(client, make_account):
    account = make_account("patient")

    response = refresh(client, account.refresh_token)

    assert response.status_code == 200
    pair = response.get_json()
    assert set(pair) == {"access_token", "refresh_token"}
    assert pair["refresh_token"] != account.refresh_token
    assert me(client, pair["access_token"]).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_login(app, client, make_account):
    """RFC 9700 4.14.2: a rotated refresh token used again means a copy exists; every token
    of that sign-in stops working, and the reuse is an audit event."""
    account = make_account("patient")
    other_login = sign_in(client, account.email, account.password)
    pair = refresh(client, account.refresh_token).get_json()
    assert me(client, pair["access_token"]).status_code == 200

    assert_problem(refresh(client, account.refresh_token), 401, "token_revoked")

    assert_problem(me(client, pair["access_token"]), 401, "token_revoked")
    assert_problem(refresh(client, pair["refresh_token"]), 401, "token_revoked")
    assert me(client, other_login["access_token"]).status_code == 200  # another sign-in
    with app.app_context():
        events = db.session.execute(
            text(
                "SELECT action, resource_type, resource_id, actor_id, actor_role, outcome "
                "FROM audit_events WHERE action = 'revoke'"
            )
        ).all()
    assert [tuple(event) for event in events] == [
        ("revoke", "user", account.id, account.id, "patient", "denied")
    ]


def test_a_revoked_login_reused_again_writes_no_second_event(app, client, make_account):
    account = make_account("patient")
    refresh(client, account.refresh_token)
    for _ in range(3):
        assert_problem(refresh(client, account.refresh_token), 401, "token_revoked")
    with app.app_context():
        revocations = db.session.execute(
            text("SELECT COUNT(*) FROM audit_events WHERE action = 'revoke'")
        ).scalar_one()
    assert revocations == 1


def test_logout_after_rotation_revokes_the_new_pair(client, make_account):
    account = make_account("patient")
    pair = refresh(client, account.refresh_token).get_json()

    assert client.post("/auth/logout", headers=bearer(pair["access_token"])).status_code == 204

    assert_problem(me(client, pair["access_token"]), 401, "token_revoked")
    assert_problem(refresh(client, pair["refresh_token"]), 401, "token_revoked")


# --- password change -----------------------------------------------------------------


def change_password(client, account, current: str, new: str = NEW_PASSWORD):
    return client.put(
        "/auth/password",
        json={"current_password": current, "new_password": new},
        headers=account.headers,
    )


def test_password_change_revokes_other_logins_and_keeps_this_one(client, make_account):
    account = make_account("receptionist")
    other_login = sign_in(client, account.email, account.password)

    response = change_password(client, account, account.password)

    assert response.status_code == 204
    assert_problem(me(client, other_login["access_token"]), 401, "token_revoked")
    assert_problem(refresh(client, other_login["refresh_token"]), 401, "token_revoked")
    assert me(client, account.access_token).status_code == 200
    assert refresh(client, account.refresh_token).status_code == 200
    assert login(client, account.email, NEW_PASSWORD).status_code == 200
    assert_problem(login(client, account.email, account.password), 401, "unauthorized")


def test_password_change_with_a_wrong_current_password(client, make_account):
    account = make_account("patient")
    other_login = sign_in(client, account.email, account.password)

    response = change_password(client, account, "not my password")

    assert_invalid(response, "current_password")
    assert me(client, other_login["access_token"]).status_code == 200
    assert login(client, account.email, account.password).status_code == 200
    assert_problem(login(client, account.email, NEW_PASSWORD), 401, "unauthorized")


@pytest.mark.parametrize(
    "new_password",
    [
        pytest.param("x" * 9, id="too-short"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("Pat.Ient@Example.org", id="the-email"),
        pytest.param("Pat Ient", id="the-name"),
    ],
)
def test_new_password_follows_the_rules(client, make_account, new_password):
    account = make_account("patient", name="Pat Ient", email="pat.ient@example.org")

    assert_invalid(change_password(client, account, account.password, new_password), "new_password")
    assert login(client, account.email, account.password).status_code == 200


# --- the user is re-read on every request --------------------------------------------


def test_deactivated_user_is_refused_on_the_next_request(client, admin, make_account):
    account = make_account("receptionist")
    assert me(client, account.access_token).status_code == 200

    response = client.patch(
        f"/users/{account.id}", json={"is_active": False}, headers=admin.headers
    )

    assert response.status_code == 200
    # Deactivation revokes the account's logins as well as refusing the account.
    assert_problem(me(client, account.access_token), 401, "token_revoked")
    assert_problem(refresh(client, account.refresh_token), 401, "token_revoked")


def test_reactivation_does_not_bring_old_tokens_back(client, admin, make_account):
    account = make_account("receptionist")
    for active in (False, True):
        response = client.patch(
            f"/users/{account.id}", json={"is_active": active}, headers=admin.headers
        )
        assert response.status_code == 200

    assert_problem(me(client, account.access_token), 401, "token_revoked")
    signed_in = client.post(
        "/auth/login", json={"email": account.email, "password": account.password}
    )
    assert signed_in.status_code == 200
    assert me(client, signed_in.get_json()["access_token"]).status_code == 200


def test_demoted_admin_loses_admin_routes_on_the_next_request(client, admin, make_account):
    other_admin = make_account("admin")
    assert client.get("/users", headers=other_admin.headers).status_code == 200

    response = client.patch(
        f"/users/{other_admin.id}", json={"role": "receptionist"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert_problem(client.get("/users", headers=other_admin.headers), 403, "forbidden")
    assert me(client, other_admin.access_token).get_json()["role"] == "receptionist"


def test_promoted_user_gains_admin_routes_on_the_next_request(client, admin, make_account):
    account = make_account("receptionist")
    assert_problem(client.get("/users", headers=account.headers), 403, "forbidden")

    client.patch(f"/users/{account.id}", json={"role": "admin"}, headers=admin.headers)

    assert client.get("/users", headers=account.headers).status_code == 200
