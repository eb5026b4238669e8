"""A doctor's time off: who reads and changes it, its rules, and what it does to booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.api_helpers import assert_problem, link_pages
from tests.conftest import count_rows
from tests.scheduling_helpers import MONDAY, at, next_weekday

MORNING = [{"weekday": MONDAY, "start": "09:00", "end": "12:00"}]


def future_monday() -> date:
    return next_weekday(MONDAY, at_least=14)


def span(day: date, start: str, end: str, **extra) -> dict:
    return {"start_time": at(day, start).isoformat(), "end_time": at(day, end).isoformat(), **extra}


def path(doctor_id: int, time_off_id: int | None = None) -> str:
    base = f"/doctors/{doctor_id}/time-off"
    return base if time_off_id is None else f"{base}/{time_off_id}"


@pytest.fixture
def doctor(doctor_account) -> dict:
    """The doctor whose time off the tests handle; `callers["the doctor"]` is their login."""
    return doctor_account[1]


@pytest.fixture
def callers(admin, receptionist, doctor_account, patient_account, make_account, factory):
    another_doctor = make_account("doctor")
    factory.doctor(user_id=another_doctor.id)
    return {
        "admin": admin,
        "receptionist": receptionist,
        "the doctor": doctor_account[0],
        "another doctor": another_doctor,
        "patient": patient_account[0],
    }


def add(client, account, doctor_id: int, body: dict):
    return client.post(path(doctor_id), json=body, headers=account.headers)


# Who may do what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("admin", 200),
        ("receptionist", 200),
        ("the doctor", 200),
        ("another doctor", 403),
        ("patient", 403),
    ],
)
def test_reading_time_off(client, admin, doctor, callers, caller, status):
    day = future_monday()
    added = add(client, admin, doctor["id"], span(day, "09:00", "12:00", reason="Conference"))
    assert added.status_code == 201

    response = client.get(path(doctor["id"]), headers=callers[caller].headers)

    if status == 403:
        assert_problem(response, 403, "forbidden")
        return
    assert response.status_code == 200
    assert response.get_json() == [added.get_json()]


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("admin", 201),
        ("the doctor", 201),
        ("receptionist", 403),
        ("another doctor", 403),
        ("patient", 403),
    ],
)
def test_adding_time_off(app, client, doctor, callers, caller, status):
    account = callers[caller]
    day = future_monday()
    body = span(day, "09:00", "12:00", reason="Conference")

    response = add(client, account, doctor["id"], body)

    if status == 403:
        assert_problem(response, 403, "forbidden")
        assert count_rows(app, "doctor_time_off") == 0
        return
    assert response.status_code == 201
    created = response.get_json()
    assert set(created) == {
        "id",
        "doctor_id",
        "start_time",
        "end_time",
        "reason",
        "created_by",
        "created_at",
    }
    assert created["doctor_id"] == doctor["id"]
    assert created["created_by"] == account.id
    assert created["reason"] == "Conference"
    assert datetime.fromisoformat(created["start_time"]) == at(day, "09:00")
    assert datetime.fromisoformat(created["end_time"]) == at(day, "12:00")
    assert count_rows(app, "doctor_time_off") == 1


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("admin", 204),
        ("the doctor", 204),
        ("receptionist", 403),
        ("another doctor", 403),
        ("patient", 403),
    ],
)
def test_deleting_time_off(app, client, admin, doctor, callers, caller, status):
    added = add(client, admin, doctor["id"], span(future_monday(), "09:00", "12:00"))
    time_off_id = added.get_json()["id"]

    response = client.delete(path(doctor["id"], time_off_id), headers=callers[caller].headers)

    assert response.status_code == status
    if status == 403:
        assert_problem(response, 403, "forbidden")
        assert count_rows(app, "doctor_time_off") == 1
        return
    assert response.data == b""
    assert count_rows(app, "doctor_time_off") == 0  # really deleted, not archived
    assert client.get(path(doctor["id"]), headers=admin.headers).get_json() == []
    again = client.delete(path(doctor["id"], time_off_id), headers=admin.headers)
    assert_problem(again, 404, "not_found")


@pytest.mark.parametrize("target", ["another doctor's path", "unknown id", "unknown doctor"])
def test_deleting_time_off_that_is_not_there_is_404(app, client, admin, factory, doctor, target):
    added = add(client, admin, doctor["id"], span(future_monday(), "09:00", "12:00"))
    time_off_id = added.get_json()["id"]
    url = {
        "another doctor's path": path(factory.doctor()["id"], time_off_id),
        "unknown id": path(doctor["id"], time_off_id + 1000),
        "unknown doctor": path(999_999, time_off_id),
    }[target]

    assert_problem(client.delete(url, headers=admin.headers), 404, "not_found")
    assert count_rows(app, "doctor_time_off") == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_archived_doctors_time_off_is_not_found(client, admin, factory, method):
    doctor = factory.doctor()
    assert client.delete(f"/doctors/{doctor['id']}", headers=admin.headers).status_code == 204

    response = client.open(
        path(doctor["id"]),
        method=method.upper(),
        json=span(future_monday(), "09:00", "10:00") if method == "post" else None,
        headers=admin.headers,
    )

    assert_problem(response, 404, "not_found")


# The list -----------------------------------------------------------------------------


def test_the_list_is_paginated_and_sorted_by_start(client, admin, doctor):
    day = future_monday()
    for offset in (2, 0, 1):
        added = add(
            client, admin, doctor["id"], span(day + timedelta(days=offset), "09:00", "10:00")
        )
        assert added.status_code == 201

    first = client.get(path(doctor["id"]), query_string={"per_page": 2}, headers=admin.headers)
    second = client.get(
        path(doctor["id"]), query_string={"per_page": 2, "page": 2}, headers=admin.headers
    )
    newest_first = client.get(
        path(doctor["id"]), query_string={"sort": "-start_time"}, headers=admin.headers
    )

    def days(response) -> list[date]:
        assert response.status_code == 200
        return [datetime.fromisoformat(item["start_time"]).date() for item in response.get_json()]

    assert first.headers["X-Total-Count"] == "3"
    assert link_pages(first) == {"first": 1, "next": 2, "last": 2}
    assert link_pages(second) == {"first": 1, "prev": 1, "last": 2}
    assert days(first) + days(second) == [day + timedelta(days=n) for n in range(3)]
    assert days(newest_first) == [day + timedelta(days=n) for n in (2, 1, 0)]


def test_the_list_holds_only_that_doctors_time_off(client, admin, factory, doctor):
    colleague = factory.doctor()
    add(client, admin, colleague["id"], span(future_monday(), "09:00", "10:00"))

    response = client.get(path(doctor["id"]), headers=admin.headers)

    assert response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    ("query", "field"), [({"sort": "reason"}, "sort"), ({"per_page": 101}, "per_page")]
)
def test_bad_list_queries_are_422(client, admin, doctor, query, field):
    response = client.get(path(doctor["id"]), query_string=query, headers=admin.headers)

    assert_problem(response, 422, "validation_error", field)


# The rules of a body ------------------------------------------------------------------


def _too_far() -> dict:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2 * 366)
    return {"start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(lambda d: span(d, "10:00", "10:00"), "end_time", id="end-equals-start"),
        pytest.param(lambda d: span(d, "10:00", "09:00"), "end_time", id="end-before-start"),
        pytest.param(lambda d: _too_far(), "start_time", id="over-two-years-ahead"),
        pytest.param(
            lambda d: {"end_time": at(d, "10:00").isoformat()}, "start_time", id="no-start"
        ),
        pytest.param(lambda d: {"start_time": at(d, "10:00").isoformat()}, "end_time", id="no-end"),
        pytest.param(
            lambda d: span(d, "09:00", "10:00") | {"start_time": "next Monday"},
            "start_time",
            id="not-a-datetime",
        ),
        pytest.param(lambda d: span(d, "09:00", "10:00", reason="x" * 10_001), "reason", id="long"),
        pytest.param(lambda d: span(d, "09:00", "10:00", reason="a\x00b"), "reason", id="nul"),
        pytest.param(lambda d: span(d, "09:00", "10:00", kind="holiday"), "kind", id="unknown"),
        pytest.param(lambda d: span(d, "09:00", "10:00", id=7), "id", id="read-only-id"),
        pytest.param(
            lambda d: span(d, "09:00", "10:00", doctor_id=1), "doctor_id", id="read-only-doctor"
        ),
    ],
)
def test_bad_bodies_are_422_and_write_nothing(app, client, admin, doctor, body, field):
    response = add(client, admin, doctor["id"], body(future_monday()))

    assert_problem(response, 422, "validation_error", field)
    assert count_rows(app, "doctor_time_off") == 0


def test_time_off_up_to_two_years_ahead_is_accepted(client, admin, doctor):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2 * 365 - 2)
    body = {"start_time": start.isoformat(), "end_time": (start + timedelta(days=7)).isoformat()}

    assert add(client, admin, doctor["id"], body).status_code == 201


def test_a_time_without_an_offset_is_hospital_time(client, admin, doctor):
    day = future_monday()
    body = {"start_time": f"{day}T09:00:00", "end_time": f"{day}T10:00:00"}

    created = add(client, admin, doctor["id"], body).get_json()

    assert datetime.fromisoformat(created["start_time"]) == at(day, "09:00")  # the zone is UTC


# Time off and appointments ------------------------------------------------------------


def test_time_off_over_booked_appointments_is_409_and_lists_them(app, client, admin, factory):
    day = future_monday()
    doctor = factory.doctor(working_hours=MORNING)
    patient = factory.patient()["id"]
    checked_in = factory.appointment(
        patient_id=patient, doctor_id=doctor["id"], start=at(day, "11:00"), status="checked_in"
    )
    scheduled = factory.appointment(
        patient_id=factory.patient()["id"], doctor_id=doctor["id"], start=at(day, "09:45")
    )
    factory.appointment(  # ends where the time off begins
        patient_id=patient, doctor_id=doctor["id"], start=at(day, "09:00")
    )
    factory.appointment(  # cancelled: its time is free
        patient_id=patient, doctor_id=doctor["id"], start=at(day, "10:00"), status="cancelled"
    )
    factory.appointment(  # another doctor's
        patient_id=patient, doctor_id=factory.doctor()["id"], start=at(day, "10:30")
    )

    response = add(client, admin, doctor["id"], span(day, "09:30", "12:00"))

    body = assert_problem(response, 409, "appointment_conflict")
    assert [
        (
            item["appointment_id"],
            datetime.fromisoformat(item["start_time"]),
            datetime.fromisoformat(item["end_time"]),
        )
        for item in body["conflicts"]
    ] == [
        (scheduled, at(day, "09:45"), at(day, "10:15")),
        (checked_in, at(day, "11:00"), at(day, "11:30")),
    ]
    assert all(
        set(item) == {"appointment_id", "start_time", "end_time"} for item in body["conflicts"]
    )
    assert count_rows(app, "doctor_time_off") == 0


@pytest.mark.parametrize("status", ["cancelled", "no_show", "completed", "archived"])
def test_time_off_over_appointments_that_hold_no_time_is_accepted(client, admin, factory, status):
    day = future_monday()
    doctor = factory.doctor(working_hours=MORNING)
    appointment = factory.appointment(
        patient_id=factory.patient()["id"],
        doctor_id=doctor["id"],
        start=at(day, "10:00"),
        status="scheduled" if status == "archived" else status,
    )
    if status == "archived":
        archived = client.delete(f"/appointments/{appointment}", headers=admin.headers)
        assert archived.status_code == 204

    response = add(client, admin, doctor["id"], span(day, "09:00", "12:00"))

    assert response.status_code == 201, response.get_json()


def _book(client, admin, doctor_id: int, patient_id: int, start: datetime):
    body = {"doctor_id": doctor_id, "patient_id": patient_id, "start_time": start.isoformat()}
    return client.post("/appointments", json=body, headers=admin.headers)


def _free_starts(client, account, doctor_id: int, day: date) -> list[datetime]:
    response = client.get(
        f"/doctors/{doctor_id}/availability",
        query_string={"date": day.isoformat()},
        headers=account.headers,
    )
    assert response.status_code == 200
    return [datetime.fromisoformat(slot["start_time"]) for slot in response.get_json()]


def test_time_off_closes_its_time_to_booking_until_it_is_deleted(client, admin, factory):
    day = future_monday()
    doctor = factory.doctor(slot_minutes=60, working_hours=MORNING)
    patient = factory.patient()["id"]
    added = add(client, admin, doctor["id"], span(day, "10:00", "11:00", reason="Training"))
    assert added.status_code == 201

    refused = _book(client, admin, doctor["id"], patient, at(day, "10:00"))
    slots = _free_starts(client, admin, doctor["id"], day)

    assert_problem(refused, 422, "outside_working_hours", "start_time")
    assert slots == [at(day, "09:00"), at(day, "11:00")]
    next_to_it = _book(client, admin, doctor["id"], patient, at(day, "11:00"))
    assert next_to_it.status_code == 201, next_to_it.get_json()

    deleted = client.delete(path(doctor["id"], added.get_json()["id"]), headers=admin.headers)
    assert deleted.status_code == 204
    assert _free_starts(client, admin, doctor["id"], day) == [at(day, "09:00"), at(day, "10:00")]
    assert _book(client, admin, doctor["id"], patient, at(day, "10:00")).status_code == 201
