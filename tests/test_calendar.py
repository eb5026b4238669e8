"""iCalendar (RFC 5545) feeds of a doctor's and a patient's appointments."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from tests.api_helpers import assert_problem
from tests.scheduling_helpers import at

FEED_STATUSES = ("scheduled", "checked_in", "completed", "no_show")


def day_ahead(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def doctor_feed(client, account, doctor_id: int, **params):
    return client.get(
        f"/doctors/{doctor_id}/calendar.ics", query_string=params, headers=account.headers
    )


def patient_feed(client, account, patient_id: int, **params):
    return client.get(
        f"/patients/{patient_id}/calendar.ics", query_string=params, headers=account.headers
    )


def events(response) -> list:
    """The feed's VEVENTs, after checking that it is a well-formed calendar."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert response.headers["Cache-Control"] == "no-store"
    calendar = Calendar.from_ical(response.data)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar.get("PRODID")
    return calendar.walk("VEVENT")


def event_starts(response) -> list[datetime]:
    return [event.decoded("DTSTART") for event in events(response)]


@pytest.fixture
def clinic(factory, doctor_account, patient_account):
    """A doctor and a patient (both with logins), with one appointment of each status
    between them, plus others each shares with someone else."""
    doctor_login, doctor = doctor_account
    patient_login, patient = patient_account
    first_day = day_ahead(3)
    appointments = {}
    for n, status in enumerate((*FEED_STATUSES, "cancelled", "archived")):
        appointments[status] = factory.appointment(
            patient_id=patient["id"],
            doctor_id=doctor["id"],
            start=at(first_day + timedelta(days=n), "09:00"),
            minutes=30,
            status="scheduled" if status == "archived" else status,
        )
    other_doctor = factory.doctor(last_name="Otherdoc")
    other_patient = factory.patient(last_name="Otherpat")
    with_other_doctor = factory.appointment(
        patient_id=patient["id"], doctor_id=other_doctor["id"], start=at(first_day, "14:00")
    )
    with_other_patient = factory.appointment(
        patient_id=other_patient["id"], doctor_id=doctor["id"], start=at(first_day, "15:00")
    )
    archived = factory.client.delete(
        f"/appointments/{appointments['archived']}", headers=factory.admin.headers
    )
    assert archived.status_code == 204
    return {
        "doctor_login": doctor_login,
        "doctor": doctor,
        "patient_login": patient_login,
        "patient": patient,
        "appointments": appointments,
        "with_other_doctor": with_other_doctor,
        "with_other_patient": with_other_patient,
    }


def appointment(client, admin, appointment_id: int) -> dict:
    response = client.get(f"/appointments/{appointment_id}", headers=admin.headers)
    assert response.status_code == 200
    return response.get_json()


# Who may read which feed --------------------------------------------------------------


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
def test_who_reads_a_doctors_calendar(
    client, admin, receptionist, clinic, make_account, factory, caller, status
):
    another_doctor = make_account("doctor")
    factory.doctor(user_id=another_doctor.id)
    account = {
        "admin": admin,
        "receptionist": receptionist,
        "the doctor": clinic["doctor_login"],
        "another doctor": another_doctor,
        "patient": clinic["patient_login"],
    }[caller]

    response = doctor_feed(client, account, clinic["doctor"]["id"])

    if status == 403:
        assert_problem(response, 403, "forbidden")
    else:
        assert len(events(response)) == 5


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("admin", 200),
        ("receptionist", 200),
        ("the patient", 200),
        ("the patient's doctor", 403),
        ("a doctor who may not see the patient", 403),
        ("another patient", 404),
    ],
)
def test_who_reads_a_patients_calendar(
    client, admin, receptionist, clinic, make_account, factory, caller, status
):
    def doctor_login():
        account = make_account("doctor")
        factory.doctor(user_id=account.id)
        return account

    def patient_login():
        account = make_account("patient")
        factory.patient(user_id=account.id)
        return account

    account = {
        "admin": lambda: admin,
        "receptionist": lambda: receptionist,
        "the patient": lambda: clinic["patient_login"],
        "the patient's doctor": lambda: clinic["doctor_login"],
        "a doctor who may not see the patient": doctor_login,
        "another patient": patient_login,
    }[caller]()

    response = patient_feed(client, account, clinic["patient"]["id"])

    if status == 200:
        assert len(events(response)) == 5
    else:
        assert_problem(response, status, "forbidden" if status == 403 else "not_found")


@pytest.mark.parametrize("kind", ["doctor", "patient"])
def test_an_unknown_or_archived_owner_is_not_found(client, admin, factory, kind):
    feed = doctor_feed if kind == "doctor" else patient_feed
    record = factory.doctor() if kind == "doctor" else factory.patient()
    deleted = client.delete(f"/{kind}s/{record['id']}", headers=admin.headers)
    assert deleted.status_code == 204

    assert_problem(feed(client, admin, record["id"]), 404, "not_found")
    assert_problem(feed(client, admin, 999_999), 404, "not_found")


# What a feed holds --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["doctor", "patient"])
def test_one_event_per_appointment_that_is_not_cancelled_or_archived(client, admin, clinic, kind):
    if kind == "doctor":
        response = doctor_feed(client, admin, clinic["doctor"]["id"])
        extra, counterpart = clinic["with_other_patient"], "patient"
    else:
        response = patient_feed(client, admin, clinic["patient"]["id"])
        extra, counterpart = clinic["with_other_doctor"], "doctor"
    expected = [clinic["appointments"][status] for status in FEED_STATUSES] + [extra]

    found = events(response)

    by_start = {
        datetime.fromisoformat(appointment(client, admin, ident)["start_time"]): ident
        for ident in expected
    }
    assert sorted(event.decoded("DTSTART") for event in found) == sorted(by_start)
    uids = [str(event["UID"]) for event in found]
    assert len(set(uids)) == len(uids) == len(expected)
    for event in found:
        ident = by_start[event.decoded("DTSTART")]
        record = appointment(client, admin, ident)
        assert event.decoded("DTSTART") == datetime.fromisoformat(record["start_time"])
        assert event.decoded("DTEND") == datetime.fromisoformat(record["end_time"])
        assert event["STATUS"]
        assert event["SUMMARY"]
        # The doctor's feed names the patient; the patient's feed names the doctor.
        assert record[counterpart]["last_name"] in str(event["SUMMARY"])


def test_times_are_written_in_utc(client, admin, clinic, monkeypatch, app):
    monkeypatch.setitem(app.config, "MEDITRACK_TIMEZONE", "Europe/Berlin")
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", zoneinfo.ZoneInfo("Europe/Berlin"))

    response = doctor_feed(client, admin, clinic["doctor"]["id"])

    text = response.get_data(as_text=True)
    stamps = re.findall(r"^(DTSTART|DTEND|DTSTAMP)[:;](.*)\r$", text, flags=re.MULTILINE)
    assert len(stamps) == 3 * 5
    assert all(re.fullmatch(r"\d{8}T\d{6}Z", value) for _, value in stamps), stamps
    starts = [event.decoded("DTSTART") for event in events(response)]
    assert all(start.utcoffset() == timedelta(0) for start in starts)
    # Booked at 09:00 and 15:00 UTC: written as such, not as Berlin's wall clock.
    assert {start.time() for start in starts} == {time(9), time(15)}


def test_uids_are_stable_across_fetches_and_changes(client, admin, clinic):
    scheduled = clinic["appointments"]["scheduled"]

    def uid_by_start() -> dict[datetime, str]:
        response = doctor_feed(client, admin, clinic["doctor"]["id"])
        return {event.decoded("DTSTART"): str(event["UID"]) for event in events(response)}

    before = uid_by_start()
    checked_in = client.patch(
        f"/appointments/{scheduled}", json={"status": "checked_in"}, headers=admin.headers
    )
    assert checked_in.status_code == 200
    after = uid_by_start()

    assert after == before
    patient_uids = {
        str(event["UID"]) for event in events(patient_feed(client, admin, clinic["patient"]["id"]))
    }
    # The four appointments in both feeds have the same UID in each.
    assert len(set(before.values()) & patient_uids) == len(FEED_STATUSES)


def test_a_cancelled_appointment_leaves_the_feed(client, admin, clinic):
    scheduled = clinic["appointments"]["scheduled"]
    start = datetime.fromisoformat(appointment(client, admin, scheduled)["start_time"])
    assert start in event_starts(doctor_feed(client, admin, clinic["doctor"]["id"]))

    cancelled = client.patch(
        f"/appointments/{scheduled}",
        json={"status": "cancelled", "cancellation_reason": "Feeling better"},
        headers=admin.headers,
    )
    assert cancelled.status_code == 200

    assert start not in event_starts(doctor_feed(client, admin, clinic["doctor"]["id"]))
    assert start not in event_starts(patient_feed(client, admin, clinic["patient"]["id"]))


def test_an_empty_feed_is_a_valid_calendar(client, admin, factory):
    doctor = factory.doctor()

    response = doctor_feed(client, admin, doctor["id"])

    assert events(response) == []
    assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert response.data.endswith(b"END:VCALENDAR\r\n")


def test_text_is_escaped_and_folded(client, admin, factory):
    doctor = factory.doctor()
    patient = factory.patient()
    reason = "Check-up; bring results, please\nSecond line: " + "long " * 39 + "end"
    ident = factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=at(day_ahead(5), "09:00")
    )
    edited = client.patch(f"/appointments/{ident}", json={"reason": reason}, headers=admin.headers)
    assert edited.status_code == 200, edited.get_json()

    response = doctor_feed(client, admin, doctor["id"])

    (event,) = events(response)
    assert str(event["DESCRIPTION"]) == reason
    assert all(len(line) <= 75 for line in response.data.split(b"\r\n"))


# from and to --------------------------------------------------------------------------


def _when(first: date, spec: str) -> str:
    """`+1` is the date one day after the first; `+1T09:00` that day at 09:00 UTC."""
    offset, _, clock = spec.partition("T")
    day = first + timedelta(days=int(offset))
    return day.isoformat() if not clock else at(day, clock).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        pytest.param({}, [0, 1, 2], id="everything"),
        pytest.param({"from": "+1"}, [1, 2], id="from-date-inclusive"),
        pytest.param({"to": "+1"}, [0, 1], id="to-date-inclusive"),
        pytest.param({"from": "+1", "to": "+1"}, [1], id="one-day"),
        pytest.param({"from": "+1T09:00"}, [1, 2], id="from-datetime-inclusive"),
        pytest.param({"from": "+1T09:01"}, [2], id="from-datetime-after-start"),
        pytest.param({"to": "+1T09:00"}, [0], id="to-datetime-exclusive"),
        pytest.param({"to": "+1T09:01"}, [0, 1], id="to-datetime-after-start"),
        pytest.param({"from": "+0T09:00", "to": "+2"}, [0, 1, 2], id="mixed"),
        pytest.param({"from": "+3"}, [], id="after-everything"),
    ],
)
@pytest.mark.parametrize("kind", ["doctor", "patient"])
def test_from_and_to_filter_on_the_start(client, admin, factory, kind, window, expected):
    doctor, patient = factory.doctor(), factory.patient()
    first = day_ahead(10)
    for offset in range(3):
        factory.appointment(
            patient_id=patient["id"],
            doctor_id=doctor["id"],
            start=at(first + timedelta(days=offset), "09:00"),
        )
    params = {name: _when(first, spec) for name, spec in window.items()}
    feed, ident = (doctor_feed, doctor["id"]) if kind == "doctor" else (patient_feed, patient["id"])

    found = event_starts(feed(client, admin, ident, **params))

    assert sorted(found) == [at(first + timedelta(days=n), "09:00") for n in expected]


@pytest.mark.parametrize("kind", ["doctor", "patient"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "soon"}, "from"),
        ({"to": "2030-02-30"}, "to"),
        ({"from": "2030-01-02", "to": "2030-01-01"}, "to"),
        ({"from": "2030-01-01T10:00:00Z", "to": "2030-01-01T10:00:00Z"}, "to"),
        ({"from": "9999-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01"}, "from"),
    ],
)
def test_bad_windows_are_422(client, admin, factory, kind, params, field):
    feed, ident = (
        (doctor_feed, factory.doctor()["id"])
        if kind == "doctor"
        else (patient_feed, factory.patient()["id"])
    )

    assert_problem(feed(client, admin, ident, **params), 422, "validation_error", field)
