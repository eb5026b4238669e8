"""One JSON line per request, and nothing secret or personal in any log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from meditrack.core.requestlog import JsonFormatter

PASSWORD = "Quartz-Harbour-Lantern-77"
FIRST, LAST = "Zebulon", "Quixotic-Marlowe"


@pytest.fixture
def log_lines():
    """Everything the app logs, at every level, as the JSON lines it writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("meditrack")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    root = logging.getLogger()
    root.addHandler(handler)  # libraries' logs too (SQLAlchemy, werkzeug, flask)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    root.removeHandler(handler)
    logger.setLevel(level)


def _requests(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "meditrack.request"]


def test_each_request_writes_one_json_line(client, admin, log_lines):
    client.get("/departments", headers={**admin.headers, "X-Request-ID": "trace-123"})
    client.get("/patients/999", headers=admin.headers)
    client.get("/patients")

    first, second, third = _requests(log_lines())
    assert first["request_id"] == "trace-123"
    assert first["user_id"] == admin.id
    assert first["method"] == "GET"
    assert first["route"] == "/departments"
    assert first["status"] == 200
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert second["route"] == "/patients/<int:patient_id>"
    assert second["status"] == 404
    assert third["user_id"] is None and third["status"] == 401
    assert {"time", "level", "ip"} <= first.keys()


def test_an_unknown_path_and_a_crash_are_logged_too(client, admin, log_lines, monkeypatch):
    from meditrack.departments import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    client.get("/no/such/thing", headers=admin.headers)
    monkeypatch.setattr(views.service, "list_departments", broken)
    assert client.get("/departments", headers=admin.headers).status_code == 500

    lines = log_lines()
    unknown, crashed = _requests(lines)
    assert unknown["route"] is None and unknown["status"] == 404
    assert crashed["route"] == "/departments" and crashed["status"] == 500
    errors = [line for line in lines if line["level"] == "error"]
    assert errors and "RuntimeError: boom" in errors[0]["error"]
    assert errors[0]["logger"] == "meditrack.core.errors"


def test_no_password_token_or_patient_name_reaches_the_log(
    client, make_account, log_lines, monkeypatch
):
    account = make_account("receptionist", password=PASSWORD)
    signed_in = client.post("/auth/login", json={"email": account.email, "password": PASSWORD})
    assert signed_in.status_code == 200
    tokens = signed_in.get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    created = client.post(
        "/patients",
        json={"first_name": FIRST, "last_name": LAST, "date_of_birth": "1970-01-02"},
        headers=headers,
    )
    assert created.status_code == 201
    patient_id = created.get_json()["id"]
    client.get(f"/patients?q={LAST}", headers=headers)
    client.get(f"/patients/{patient_id}", headers=headers)
    client.patch(f"/patients/{patient_id}", json={"first_name": FIRST + "x"}, headers=headers)
    client.post("/patients", json={"first_name": FIRST, "last_name": LAST}, headers=headers)
    client.post("/auth/login", json={"email": account.email, "password": PASSWORD + "!"})
    client.put(
        "/auth/password",
        json={"current_password": PASSWORD + "?", "new_password": PASSWORD + "-new-and-long"},
        headers=headers,
    )
    client.post("/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})

    # A crash deep inside a request that has the name in hand is logged with its
    # traceback; the traceback names code, not values.
    from meditrack.patients import service as patients_service

    def explode(q, searched):
        raise RuntimeError("search failed")

    monkeypatch.setattr(patients_service, "search_in", explode)
    assert client.get(f"/patients?q={FIRST}", headers=headers).status_code == 500

    # A database error whose message quotes the value (PostgreSQL: invalid input syntax
    # for type integer: "Zebulon") and whose statement carries it as a parameter.
    from sqlalchemy import text

    from meditrack.extensions import db

    def bad_cast(q, searched):
        db.session.execute(text("SELECT CAST(:value AS integer) / 0"), {"value": q})
        raise RuntimeError("unreachable on PostgreSQL")

    monkeypatch.setattr(patients_service, "search_in", bad_cast)
    assert client.get(f"/patients?q={FIRST}", headers=headers).status_code == 500

    lines = log_lines()
    assert len(_requests(lines)) >= 10
    logged = "\n".join(json.dumps(line) for line in lines)
    secrets = [
        PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["access_token"].split(".")[2],  # the signature alone
        FIRST,
        LAST,
    ]
    for secret in secrets:
        assert secret not in logged, f"{secret[:12]}... leaked into the log"
