"""Small helpers shared by the account, token and user tests."""

from __future__ import annotations

from meditrack.extensions import db
from meditrack.users.models import User

PROBLEM_JSON = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    """The response is an RFC 9457 problem with this status and code word; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] and body["title"] and body["detail"]
    return body


def assert_invalid(response, *fields: str) -> dict:
    """A 422 validation_error whose `errors` names every one of these fields."""
    body = assert_problem(response, 422, "validation_error")
    for name in fields:
        assert name in body["errors"], body["errors"]
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, email: str, password: str, **kwargs):
    return client.post("/auth/login", json={"email": email, "password": password}, **kwargs)


def sign_in(client, email: str, password: str) -> dict:
    """A new login: its body, which holds the access and refresh tokens."""
    response = login(client, email, password)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored_user(app, user_id: int) -> dict | None:
    """The user's row as the database holds it now."""
    with app.app_context():
        user = db.session.get(User, user_id)
        if user is None:
            return None
        return {"name": user.name, "email": user.email, "role": user.role, "active": user.is_active}
