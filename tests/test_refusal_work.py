"""Refusing a body costs about what reading it costs, however many mistakes it holds.

A 1 MiB body can hold 90 000 unknown keys or 90 000 list items. The answer names at most
MAX_ERRORS fields and says that more were cut (`errors_truncated: true`); the work is
counted, not timed: how many errors marshmallow stored and how many objects it loaded.
"""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema as MarshmallowSchema
from marshmallow.error_store import ErrorStore

from meditrack.core.errors import MAX_ERRORS
from tests.api_helpers import assert_problem
from tests.conftest import count_rows

MANY = 90_000
#: An answer of 50 errors is about 1.5 KB; the unbounded one was 2.5 MB.
SMALL_ANSWER = 4096
TABLES = ("users", "patients", "doctors", "doctor_working_hours", "audit_events")
NEW_PATIENT = {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1990-12-10"}
SIGN_IN = {"email": "ada@example.org", "password": "correct horse battery"}
SIGN_UP = {"name": "Ada", **SIGN_IN}


def unknown_keys(count: int) -> dict:
    return {f"k{i}": 0 for i in range(count)}


def raw(data) -> dict:
    """A compact JSON body: 90 000 keys then fit under the 1 MiB limit."""
    return {"data": json.dumps(data, separators=(",", ":")), "content_type": "application/json"}


@pytest.fixture
def work(monkeypatch) -> dict[str, int]:
    """Counts the errors marshmallow stores one by one and the objects it loads."""
    counts = {"stored_errors": 0, "loads": 0}
    store_error, do_load = ErrorStore.store_error, MarshmallowSchema._do_load

    def counted_store(self, *args, **kwargs):
        counts["stored_errors"] += 1
        return store_error(self, *args, **kwargs)

    def counted_load(self, *args, **kwargs):
        counts["loads"] += 1
        return do_load(self, *args, **kwargs)

    monkeypatch.setattr(ErrorStore, "store_error", counted_store)
    monkeypatch.setattr(MarshmallowSchema, "_do_load", counted_load)
    return counts


def state(app) -> dict[str, int]:
    return {table: count_rows(app, table) for table in TABLES}


def assert_cut(response, names_from: dict, message: str = "Unknown field.") -> dict:
    """A 422 of exactly MAX_ERRORS fields, each one that was sent, marked as cut, small."""
    body = assert_problem(response, 422, "validation_error")
    assert body["errors_truncated"] is True
    assert len(body["errors"]) == MAX_ERRORS
    assert all(names_from.get(name) == [message] for name in body["errors"]), body
    assert len(response.data) < SMALL_ANSWER
    return body


def prefixed(prefix: str, keys: dict) -> dict:
    return {f"{prefix}{key}": ["Unknown field."] for key in keys}


# --- 90 000 unknown keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "valid"),
    [("/auth/login", SIGN_IN), ("/auth/register", SIGN_UP)],
    ids=["login", "register"],
)
def test_unknown_keys_unsigned_are_cut_and_cheap(app, client, work, path, valid):
    keys = unknown_keys(MANY)
    before = state(app)

    response = client.post(path, **raw({**valid, **keys}))

    assert_cut(response, prefixed("", keys))
    assert work["stored_errors"] <= MAX_ERRORS
    assert state(app) == before


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_unknown_keys_signed_are_cut_and_cheap(app, client, admin, factory, work, method):
    path = "/patients" if method == "POST" else f"/patients/{factory.patient()['id']}"
    keys = unknown_keys(MANY)
    before = state(app)

    response = client.open(path, method=method, headers=admin.headers, **raw(keys))

    assert_cut(response, prefixed("", keys))
    assert work["stored_errors"] <= MAX_ERRORS
    assert state(app) == before


def test_unknown_keys_in_a_nested_object_are_cut_and_cheap(app, client, admin, factory, work):
    keys = unknown_keys(MANY)
    period = {"weekday": 0, "start": "09:00", "end": "17:00", **keys}
    doctor = {
        "first_name": "Gregory",
        "last_name": "House",
        "email": "house@example.org",
        "specialization": "Diagnostics",
        "department_id": factory.department()["id"],
        "working_hours": [period],
    }
    before = state(app)

    response = client.post("/doctors", headers=admin.headers, **raw(doctor))

    assert_cut(response, prefixed("working_hours.0.", keys))
    assert work["stored_errors"] <= MAX_ERRORS
    assert state(app) == before


@pytest.mark.parametrize(("sent", "truncated"), [(MAX_ERRORS, False), (MAX_ERRORS + 1, True)])
def test_the_cut_starts_past_the_maximum(client, sent, truncated):
    keys = unknown_keys(sent)
    response = client.post("/auth/login", json={**SIGN_IN, **keys})
    body = assert_problem(response, 422, "validation_error")
    assert len(body["errors"]) == MAX_ERRORS
    assert set(body["errors"]) <= set(keys)
    assert body.get("errors_truncated", False) is truncated


def test_a_few_mistakes_are_all_reported_uncut(client):
    response = client.post("/auth/login", json={"email": 42, "colour": "red"})
    body = assert_problem(response, 422, "validation_error", "email", "password", "colour")
    assert "errors_truncated" not in body


# --- a list of 90 000 items --------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [None, {}, {"x": 1}],
    ids=["nulls", "empty-objects", "unknown-key-objects"],
)
def test_a_list_of_many_bad_items_is_refused_unread(app, client, admin, factory, work, item):
    doctor = factory.doctor()
    before = state(app)

    response = client.patch(
        f"/doctors/{doctor['id']}", headers=admin.headers, **raw({"working_hours": [item] * MANY})
    )

    body = assert_problem(response, 422, "validation_error", "working_hours")
    assert body["errors"] == {"working_hours": ["At most 50 working periods."]}
    assert work["loads"] < 10  # the request's few schemas, and not one per period
    assert len(response.data) < SMALL_ANSWER
    assert state(app) == before


def test_many_bad_fields_within_the_limits_are_cut(app, client, admin, factory):
    """50 periods with three mistakes each: 150 fields, within every input limit."""
    doctor = factory.doctor()
    before = state(app)

    response = client.put(
        f"/doctors/{doctor['id']}", headers=admin.headers, json={"working_hours": [{}] * 50}
    )

    body = assert_problem(response, 422, "validation_error")
    assert body["errors_truncated"] is True
    assert len(body["errors"]) == MAX_ERRORS
    assert all(name.startswith("working_hours.") for name in body["errors"])
    assert state(app) == before
