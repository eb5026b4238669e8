"""GET /patients/<id>/access-log: who saw a patient's data, for admins and the patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api_helpers import assert_problem, ids, link_pages
from tests.audit_helpers import EVENT_FIELDS, Watch, plant, quiet_patient


def access_log(client, account, whose: int, **query):
    return client.get(f"/patients/{whose}/access-log", query_string=query, headers=account.headers)


@pytest.fixture
def care(factory, doctor_account, patient_account, make_account):
    """A doctor with an appointment with a patient; another patient; the staff."""
    doctor, doctor_row = doctor_account
    patient, patient_row = patient_account
    other = make_account("patient")
    other_row = factory.patient(user_id=other.id)
    factory.appointment(patient_id=patient_row["id"], doctor_id=doctor_row["id"])
    return {
        "doctor": doctor,
        "patient": patient,
        "other": other,
        "patient_id": patient_row["id"],
        "other_id": other_row["id"],
    }


def test_the_patient_sees_their_doctor_reading_their_record(app, client, care):
    response = client.get(f"/patients/{care['patient_id']}", headers=care["doctor"].headers)
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]

    response = access_log(client, care["patient"], care["patient_id"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    newest = response.get_json()[0]
    assert list(newest) == list(EVENT_FIELDS)
    assert {name: value for name, value in newest.items() if name not in ("id", "occurred_at")} == {
        "actor_id": care["doctor"].id,
        "actor_role": "doctor",
        "action": "read",
        "resource_type": "patient",
        "resource_id": care["patient_id"],
        "patient_id": care["patient_id"],
        "outcome": "success",
        "ip": "127.0.0.1",
        "request_id": request_id,
        "emergency_access_id": None,
        "details": None,
    }
    assert datetime.fromisoformat(newest["occurred_at"]).utcoffset() is not None


def test_the_patient_sees_refused_attempts_on_their_data(app, client, care):
    response = client.get(f"/patients/{care['patient_id']}", headers=care["other"].headers)
    assert_problem(response, 404, "not_found")
    [newest] = access_log(client, care["patient"], care["patient_id"], per_page=1).get_json()
    assert (newest["actor_id"], newest["action"], newest["outcome"]) == (
        care["other"].id,
        "read",
        "denied",
    )


def read_as_doctor(client, care) -> None:
    response = client.get(f"/patients/{care['patient_id']}", headers=care["doctor"].headers)
    assert response.status_code == 200


def test_another_patient_gets_404_and_sees_nothing(app, client, care):
    read_as_doctor(client, care)
    watch = Watch(app)
    response = access_log(client, care["other"], care["patient_id"])
    body = assert_problem(response, 404, "not_found")
    assert "actor_id" not in response.get_data(as_text=True)
    assert set(body) == {"type", "title", "status", "detail", "code"}
    # their own log does not show the doctor's read of someone else
    own = access_log(client, care["other"], care["other_id"])
    assert all(event["patient_id"] == care["other_id"] for event in own.get_json())
    assert care["doctor"].id not in {event["actor_id"] for event in own.get_json()}
    assert [e for e in watch.events() if e["outcome"] == "success"] == []


@pytest.mark.parametrize("role", ["doctor", "receptionist"])
def test_staff_other_than_admins_are_refused(client, care, receptionist, role):
    account = receptionist if role == "receptionist" else care["doctor"]
    assert_problem(access_log(client, account, care["patient_id"]), 403, "forbidden")


def test_admins_read_any_patients_log(client, admin, care):
    read_as_doctor(client, care)
    events = access_log(client, admin, care["patient_id"]).get_json()
    assert care["doctor"].id in {event["actor_id"] for event in events}
    assert {event["patient_id"] for event in events} == {care["patient_id"]}


@pytest.mark.parametrize("ident", [987_654, 2**31, 2**40])
def test_a_patient_that_does_not_exist_is_404(client, admin, ident):
    assert_problem(access_log(client, admin, ident), 404, "not_found")


@pytest.fixture
def history(app, admin, make_account):
    """Two quiet patients (no events of their own); five events about the first spread over
    five days, two about the second and a sign-in that belongs to no patient."""
    first, second = quiet_patient(app), quiet_patient(app)
    reader = make_account("doctor")
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    mine = plant(
        app,
        *(
            {
                "occurred_at": start + timedelta(days=n),
                "actor_id": admin.id if n % 2 else reader.id,
                "actor_role": "admin" if n % 2 else "doctor",
                "action": ("read", "update", "list", "read", "archive")[n],
                "patient_id": first,
                "resource_id": first,
            }
            for n in range(5)
        ),
    )
    plant(
        app,
        {"occurred_at": start, "actor_id": reader.id, "patient_id": second},
        {"occurred_at": start + timedelta(days=9), "patient_id": second, "action": "list"},
        {"occurred_at": start + timedelta(days=2), "action": "login", "resource_type": "user"},
    )
    return {"patient_id": first, "events": mine, "reader": reader}


def test_only_that_patients_events_newest_first(client, admin, history):
    response = access_log(client, admin, history["patient_id"])
    assert ids(response) == history["events"][::-1]
    assert response.headers["X-Total-Count"] == "5"


def test_a_patient_id_in_the_query_cannot_widen_the_log(client, admin, history):
    response = access_log(
        client, admin, history["patient_id"], patient_id=history["patient_id"] + 1
    )
    assert ids(response) == history["events"][::-1]


def test_the_log_is_paginated(client, admin, history):
    response = access_log(client, admin, history["patient_id"], per_page=2, page=2)
    assert ids(response) == history["events"][2:0:-1]
    assert response.headers["X-Total-Count"] == "5"
    assert link_pages(response) == {"first": 1, "prev": 1, "next": 3, "last": 3}
    assert ids(access_log(client, admin, history["patient_id"], per_page=2, page=4)) == []


@pytest.mark.parametrize(
    "query, picked",
    [
        ({"action": "read"}, [3, 0]),
        ({"actor_id": "reader"}, [4, 2, 0]),
        ({"from": "2025-03-02", "to": "2025-03-04"}, [3, 2, 1]),
        ({"from": "2025-03-02T09:00:00Z", "to": "2025-03-04T09:00:00Z"}, [2, 1]),
    ],
)
def test_the_log_can_be_filtered(client, admin, history, query, picked):
    if query.get("actor_id") == "reader":
        query = {"actor_id": history["reader"].id}
    response = access_log(client, admin, history["patient_id"], **query)
    assert ids(response) == [history["events"][n] for n in picked]


@pytest.mark.parametrize(
    "query, field_name",
    [
        ({"action": "erase"}, "action"),
        ({"actor_id": "me"}, "actor_id"),
        ({"actor_id": "987654"}, "actor_id"),
        ({"from": "2025-02-30"}, "from"),
        ({"from": "2025-03-05", "to": "2025-03-01"}, "to"),
        ({"per_page": "1000"}, "per_page"),
    ],
)
def test_bad_filters_are_422(client, admin, history, query, field_name):
    response = access_log(client, admin, history["patient_id"], **query)
    assert_problem(response, 422, "validation_error", field_name)


def test_reading_the_log_needs_a_token(client, history):
    response = client.get(f"/patients/{history['patient_id']}/access-log")
    assert_problem(response, 401, "unauthorized")
