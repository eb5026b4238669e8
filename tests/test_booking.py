"""Booking appointments: the rules, their edges, time zones, who books, who reads what."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.api_helpers import PROBLEM_KEYS, assert_problem, ids
from tests.conftest import count_rows
from tests.scheduling_helpers import (
    APPOINTMENT_FIELDS,
    MONDAY,
    SATURDAY,
    SUNDAY,
    TUESDAY,
    appointment_row,
    at,
    book,
    booked,
    event_count,
    future,
    next_weekday,
    set_working_hours,
    stamp,
)

BERLIN = ZoneInfo("Europe/Berlin")
STAFF = ("admin", "receptionist")


@pytest.fixture
def staff(request, make_account):
    """An admin or a receptionist account, by the `role` parameter."""
    return make_account(request.param)


@pytest.fixture
def doctor(factory):
    return factory.doctor()


@pytest.fixture
def patient(factory):
    return factory.patient()


def get(client, account, appointment_id, **query):
    return client.get(
        f"/appointments/{appointment_id}", query_string=query, headers=account.headers
    )


def listed(client, account, **query):
    return client.get("/appointments", query_string=query, headers=account.headers)


# --- a booking and its answer ----------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF, indirect=True)
def test_staff_book_for_any_patient(client, app, staff, factory):
    department = factory.department()
    doctor = factory.doctor(department_id=department["id"], slot_minutes=20)
    patient = factory.patient()
    start = future(days=3, clock="10:00")

    response = book(
        client,
        staff,
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start_time=start,
        reason="Check-up",
        notes="Bring the X-rays.",
    )

    assert response.status_code == 201, response.get_json()
    appointment = response.get_json()
    assert set(appointment) == APPOINTMENT_FIELDS
    assert appointment["patient_id"] == patient["id"]
    assert appointment["doctor_id"] == doctor["id"]
    assert appointment["department_id"] == department["id"]
    assert appointment["patient"] == {
        "id": patient["id"],
        "first_name": patient["first_name"],
        "last_name": patient["last_name"],
        "mrn": patient["mrn"],
    }
    assert appointment["doctor"] == {
        "id": doctor["id"],
        "first_name": doctor["first_name"],
        "last_name": doctor["last_name"],
        "specialization": doctor["specialization"],
    }
    assert appointment["start_time"] == stamp(start)
    assert appointment["end_time"] == stamp(start + timedelta(minutes=20))
    assert appointment["duration_minutes"] == 20
    assert appointment["status"] == "scheduled"
    assert appointment["reason"] == "Check-up"
    assert appointment["notes"] == "Bring the X-rays."
    assert appointment["cancellation_reason"] is None
    assert appointment["created_by"] == staff.id

    location = response.headers["Location"]
    assert location.endswith(f"/appointments/{appointment['id']}")
    assert client.get(location, headers=staff.headers).get_json() == appointment
    assert appointment_row(app, appointment["id"]) == {
        "patient_id": patient["id"],
        "doctor_id": doctor["id"],
        "department_id": department["id"],
        "start_time": start,
        "end_time": start + timedelta(minutes=20),
        "status": "scheduled",
        "reason": "Check-up",
        "notes": "Bring the X-rays.",
        "cancellation_reason": None,
        "created_by": staff.id,
        "archived": False,
    }
    assert event_count(app, appointment["id"]) == 1


@pytest.mark.parametrize(
    ("length", "minutes"),
    [
        ({}, 25),  # the doctor's slot
        ({"duration_minutes": 45}, 45),
        ({"duration_minutes": 5}, 5),
        ({"duration_minutes": 480}, 480),
        ({"end_time": 50}, 50),
        ({"end_time": 480}, 480),
    ],
)
def test_the_length(client, admin, factory, patient, length, minutes):
    doctor = factory.doctor(slot_minutes=25)
    start = future(clock="08:00")
    if "end_time" in length:
        length = {"end_time": start + timedelta(minutes=length["end_time"])}

    appointment = booked(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start, **length
    )

    assert appointment["duration_minutes"] == minutes
    assert appointment["end_time"] == stamp(start + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("length", "field"),
    [
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"end_time": 4}, "end_time"),
        ({"end_time": 481}, "end_time"),
        ({"end_time": 0}, "end_time"),
        ({"end_time": -30}, "end_time"),
        ({"end_time": 30, "duration_minutes": 30}, "duration_minutes"),
    ],
)
def test_a_length_out_of_bounds_is_refused(client, app, admin, doctor, patient, length, field):
    start = future()
    if "end_time" in length:
        length = {**length, "end_time": start + timedelta(minutes=length["end_time"])}

    response = book(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start, **length
    )

    assert_problem(response, 422, "validation_error", field)
    assert count_rows(app, "appointments") == 0


# --- when ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offset",
    [
        timedelta(hours=-1),
        timedelta(days=-400),
        timedelta(0),  # "now": past by the time the server looks
        timedelta(days=2 * 366 + 1),
        timedelta(days=5 * 365),
    ],
)
def test_the_start_must_be_in_the_future_and_within_two_years(
    client, app, admin, doctor, patient, offset
):
    start = (datetime.now(UTC) + offset).replace(microsecond=0)

    response = book(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start
    )

    assert_problem(response, 422, "validation_error", "start_time")
    assert count_rows(app, "appointments") == 0


@pytest.mark.parametrize("offset", [timedelta(minutes=5), timedelta(days=2 * 365 - 2)])
def test_a_start_soon_or_almost_two_years_ahead_is_accepted(client, admin, doctor, patient, offset):
    start = (datetime.now(UTC) + offset).replace(microsecond=0)
    appointment = booked(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start
    )
    assert appointment["start_time"] == stamp(start)


# --- the doctor and the patient ---------------------------------------------------------


def test_an_inactive_doctor_takes_no_bookings(client, app, admin, doctor, patient):
    response = client.patch(
        f"/doctors/{doctor['id']}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200

    response = book(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=future()
    )

    assert_problem(response, 422, "validation_error", "doctor_id")
    assert count_rows(app, "appointments") == 0


@pytest.mark.parametrize("field", ["doctor_id", "patient_id"])
@pytest.mark.parametrize("how", ["missing", "archived"])
def test_a_missing_or_archived_doctor_or_patient_is_named(
    client, app, admin, doctor, patient, field, how
):
    body = {"patient_id": patient["id"], "doctor_id": doctor["id"], "start_time": future()}
    if how == "missing":
        body[field] = 987654
    else:
        resource = "doctors" if field == "doctor_id" else "patients"
        response = client.delete(f"/{resource}/{body[field]}", headers=admin.headers)
        assert response.status_code == 204

    assert_problem(book(client, admin, **body), 422, "validation_error", field)
    assert count_rows(app, "appointments") == 0


def test_staff_must_name_the_patient(client, app, admin, doctor):
    response = book(client, admin, doctor_id=doctor["id"], start_time=future())
    assert_problem(response, 422, "validation_error", "patient_id")
    assert count_rows(app, "appointments") == 0


# --- working hours and time off ----------------------------------------------------------


@pytest.fixture
def hours_doctor(client, admin, factory):
    """A doctor working Mondays 09:00-12:00 and 13:00-17:00 (hospital time, UTC here)."""
    doctor = factory.doctor()
    set_working_hours(
        client, admin, doctor["id"], (MONDAY, "09:00", "12:00"), (MONDAY, "13:00", "17:00")
    )
    return doctor


@pytest.mark.parametrize(
    ("weekday", "clock", "minutes"),
    [
        (MONDAY, "09:00", 30),  # the first minute of the day
        (MONDAY, "11:30", 30),  # ends as the morning ends
        (MONDAY, "13:00", 240),  # the whole afternoon
        (MONDAY, "16:30", 30),  # ends exactly when the day ends
    ],
)
def test_inside_working_hours_is_accepted(
    client, admin, hours_doctor, patient, weekday, clock, minutes
):
    start = at(next_weekday(weekday), clock)
    appointment = booked(
        client,
        admin,
        patient_id=patient["id"],
        doctor_id=hours_doctor["id"],
        start_time=start,
        duration_minutes=minutes,
    )
    assert appointment["end_time"] == stamp(start + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("weekday", "clock", "minutes"),
    [
        (MONDAY, "16:31", 30),  # one minute past the end of the day
        (MONDAY, "08:59", 30),  # starts a minute early
        (MONDAY, "08:00", 30),
        (MONDAY, "11:45", 90),  # spans the lunch gap between the two periods
        (MONDAY, "12:00", 30),  # inside the lunch gap
        (MONDAY, "11:31", 30),  # one minute into the lunch gap
        (MONDAY, "12:45", 30),  # starts in the lunch gap, ends in the afternoon
        (TUESDAY, "10:00", 30),  # no hours on Tuesdays
        (SUNDAY, "10:00", 30),
    ],
)
def test_outside_working_hours_is_refused(
    client, app, admin, hours_doctor, patient, weekday, clock, minutes
):
    response = book(
        client,
        admin,
        patient_id=patient["id"],
        doctor_id=hours_doctor["id"],
        start_time=at(next_weekday(weekday), clock),
        duration_minutes=minutes,
    )

    assert_problem(response, 422, "outside_working_hours")
    assert count_rows(app, "appointments") == 0


@pytest.mark.parametrize(
    ("weekday", "clock"), [(SUNDAY, "03:00"), (SATURDAY, "23:00"), (TUESDAY, "12:15")]
)
def test_a_doctor_without_working_hours_can_be_booked_any_time(
    client, admin, doctor, patient, weekday, clock
):
    assert doctor["working_hours"] == []
    start = at(next_weekday(weekday), clock)
    appointment = booked(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start
    )
    assert appointment["start_time"] == stamp(start)


@pytest.mark.parametrize(
    ("shift", "minutes"),
    [
        (timedelta(0), 30),  # starts as the time off starts
        (timedelta(hours=1), 30),  # inside it
        (timedelta(minutes=-15), 30),  # runs into it
        (timedelta(hours=4, minutes=-15), 30),  # starts in it, ends after it
        (timedelta(minutes=-30), 300),  # covers all of it
    ],
)
def test_time_off_is_outside_working_hours(
    client, app, admin, factory, doctor, patient, shift, minutes
):
    off = factory.time_off(doctor["id"], days_ahead=20, hours=4)
    start = datetime.fromisoformat(off["start_time"]) + shift

    response = book(
        client,
        admin,
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start_time=start,
        duration_minutes=minutes,
    )

    assert_problem(response, 422, "outside_working_hours")
    assert count_rows(app, "appointments") == 0


def test_right_before_and_right_after_time_off_is_free(client, admin, factory, doctor, patient):
    off = factory.time_off(doctor["id"], days_ahead=20, hours=4)
    off_start, off_end = (datetime.fromisoformat(off[k]) for k in ("start_time", "end_time"))
    for start in (off_start - timedelta(minutes=30), off_end):
        booked(client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start)


# --- overlaps ------------------------------------------------------------------------------


@pytest.fixture
def taken(factory, doctor, patient):
    """The doctor and the patient have an appointment 10:00-10:30 a week from now."""
    start = future(clock="10:00")
    factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"], start=start)
    return start


@pytest.mark.parametrize("who", ["doctor", "patient"])
@pytest.mark.parametrize(
    ("clock", "minutes"),
    [("10:00", 30), ("10:15", 30), ("09:45", 30), ("09:00", 120), ("10:10", 10)],
)
def test_an_overlap_is_a_conflict_that_names_only_times(
    client, app, admin, factory, doctor, patient, taken, who, clock, minutes
):
    other_doctor, other_patient = factory.doctor(), factory.patient()
    body = {
        "doctor_id": doctor["id"] if who == "doctor" else other_doctor["id"],
        "patient_id": other_patient["id"] if who == "doctor" else patient["id"],
    }

    response = book(
        client,
        admin,
        start_time=at(taken.date(), clock),
        duration_minutes=minutes,
        **body,
    )

    problem = assert_problem(response, 409, "appointment_conflict")
    assert set(problem) == PROBLEM_KEYS | {"conflicts"}
    assert problem["conflicts"] == [
        {"start_time": stamp(taken), "end_time": stamp(taken + timedelta(minutes=30))}
    ]
    text = response.get_data(as_text=True)
    for secret in (patient["last_name"], patient["mrn"]):
        assert secret not in text
    assert count_rows(app, "appointments") == 1


def test_every_clashing_time_is_listed(client, admin, factory, doctor, patient):
    other = factory.patient()
    first, second = future(clock="10:00"), future(clock="11:00")
    factory.appointment(patient_id=other["id"], doctor_id=doctor["id"], start=first)
    factory.appointment(patient_id=patient["id"], doctor_id=factory.doctor()["id"], start=second)

    response = book(
        client,
        admin,
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start_time=first,
        duration_minutes=120,
    )

    problem = assert_problem(response, 409, "appointment_conflict")
    assert [c["start_time"] for c in problem["conflicts"]] == [stamp(first), stamp(second)]
    assert other["last_name"] not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("status", "archived", "blocks"),
    [
        ("scheduled", False, True),
        ("checked_in", False, True),
        ("completed", False, False),
        ("cancelled", False, False),
        ("no_show", False, False),
        ("scheduled", True, False),
    ],
)
def test_which_appointments_hold_their_time(
    client, app, admin, factory, doctor, patient, status, archived, blocks
):
    start = future(clock="10:00")
    existing = factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=start, status=status
    )
    if archived:
        assert client.delete(f"/appointments/{existing}", headers=admin.headers).status_code == 204

    response = book(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=start
    )

    if blocks:
        assert_problem(response, 409, "appointment_conflict")
        assert count_rows(app, "appointments") == 1
    else:
        assert response.status_code == 201, response.get_json()
        assert count_rows(app, "appointments") == 2


@pytest.mark.parametrize("who", ["doctor", "patient"])
def test_back_to_back_appointments_do_not_overlap(
    client, app, admin, factory, doctor, patient, taken, who
):
    other_doctor, other_patient = factory.doctor(), factory.patient()
    body = {
        "doctor_id": doctor["id"] if who == "doctor" else other_doctor["id"],
        "patient_id": other_patient["id"] if who == "doctor" else patient["id"],
    }
    after = booked(client, admin, start_time=taken + timedelta(minutes=30), **body)
    before = booked(client, admin, start_time=taken - timedelta(minutes=30), **body)

    assert after["start_time"] == stamp(taken + timedelta(minutes=30))
    assert before["end_time"] == stamp(taken)
    assert count_rows(app, "appointments") == 3


# --- daylight saving time ---------------------------------------------------------------------


def next_dst_switch(today: date) -> date:
    """The next last Sunday of March or October (Europe/Berlin's switches) after today."""
    candidates = []
    for year in (today.year, today.year + 1):
        for month in (3, 10):
            last = date(year, month, 31)
            candidates.append(last - timedelta(days=(last.weekday() - SUNDAY) % 7))
    return min(day for day in candidates if day > today + timedelta(days=1))


@pytest.fixture
def berlin(app, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_TIMEZONE", "Europe/Berlin")
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", BERLIN)


def test_working_hours_hold_in_local_time_on_a_dst_switch(
    client, app, admin, berlin, doctor, patient
):
    day = next_dst_switch(datetime.now(BERLIN).date())
    summer = day.month == 3  # in March the clocks go forward to +02:00
    offset = "+02:00" if summer else "+01:00"
    set_working_hours(client, admin, doctor["id"], (SUNDAY, "09:00", "17:00"))
    base = {"patient_id": patient["id"], "doctor_id": doctor["id"], "duration_minutes": 30}

    first = booked(client, admin, start_time=f"{day}T09:00:00", **base)

    assert first["start_time"] == f"{day}T09:00:00{offset}"
    assert first["end_time"] == f"{day}T09:30:00{offset}"
    utc_hour = 7 if summer else 8
    assert appointment_row(app, first["id"])["start_time"] == datetime(
        day.year, day.month, day.day, utc_hour, tzinfo=UTC
    )

    last = booked(client, admin, start_time=f"{day}T16:30:00", **base)
    assert last["end_time"] == f"{day}T17:00:00{offset}"

    too_late = book(client, admin, start_time=f"{day}T16:45:00", **base)
    assert_problem(too_late, 422, "outside_working_hours")

    # an offset in the input is taken as given, and the answer is in local time
    given = booked(client, admin, start_time=f"{day}T{utc_hour + 1:02d}:00:00Z", **base)
    assert given["start_time"] == f"{day}T10:00:00{offset}"
    assert count_rows(app, "appointments") == 3


def test_naive_input_is_read_in_hospital_time(client, app, admin, berlin, doctor, patient):
    day = next_weekday(MONDAY)
    expected = at(day, "23:30", BERLIN)

    appointment = booked(
        client,
        admin,
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start_time=f"{day}T23:30:00",
    )

    assert appointment["start_time"] == stamp(expected, BERLIN)
    assert appointment["start_time"][-6:] in ("+01:00", "+02:00")
    assert appointment_row(app, appointment["id"])["start_time"] == expected.astimezone(UTC)


# --- who books ---------------------------------------------------------------------------------


def test_a_patient_books_for_themselves(client, app, patient_account, doctor):
    account, me = patient_account
    start = future()

    response = book(client, account, doctor_id=doctor["id"], start_time=start)

    assert response.status_code == 201, response.get_json()
    appointment = response.get_json()
    assert appointment["patient_id"] == me["id"]
    assert appointment["created_by"] == account.id
    assert appointment_row(app, appointment["id"])["created_by"] == account.id

    again = booked(
        client,
        account,
        patient_id=me["id"],
        doctor_id=doctor["id"],
        start_time=start + timedelta(hours=1),
    )
    assert again["patient_id"] == me["id"]


def test_a_patient_may_not_book_for_someone_else(client, app, patient_account, doctor, patient):
    account, _ = patient_account
    response = book(
        client, account, patient_id=patient["id"], doctor_id=doctor["id"], start_time=future()
    )
    assert_problem(response, 403, "forbidden")
    assert count_rows(app, "appointments") == 0


def test_a_patient_without_a_record_must_create_it_first(client, app, make_account, doctor):
    account = make_account("patient")
    response = book(client, account, doctor_id=doctor["id"], start_time=future())
    assert_problem(response, 422, "validation_error", "patient_id")
    assert count_rows(app, "appointments") == 0


def test_a_doctor_books_their_own_patients_only(client, app, doctor_account, factory, patient):
    """With themselves or, as a referral, with another doctor; anyone else's patient is
    404 (tests/test_booking_scope.py goes through the rule)."""
    account, me = doctor_account
    other = factory.doctor()

    response = book(
        client, account, patient_id=patient["id"], doctor_id=me["id"], start_time=future()
    )
    assert_problem(response, 404, "not_found")
    assert count_rows(app, "appointments") == 0

    factory.appointment(patient_id=patient["id"], doctor_id=me["id"], start=future(days=3))
    mine = booked(
        client, account, patient_id=patient["id"], doctor_id=me["id"], start_time=future()
    )
    assert mine["doctor_id"] == me["id"]
    assert mine["created_by"] == account.id
    referral = booked(
        client,
        account,
        patient_id=patient["id"],
        doctor_id=other["id"],
        start_time=future(clock="12:00"),
    )
    assert referral["doctor_id"] == other["id"]
    assert count_rows(app, "appointments") == 3


def test_the_department_is_the_doctors_at_booking_time(client, app, admin, factory, patient):
    first_department, second_department = factory.department(), factory.department()
    doctor = factory.doctor(department_id=first_department["id"])
    before = booked(
        client, admin, patient_id=patient["id"], doctor_id=doctor["id"], start_time=future()
    )

    response = client.patch(
        f"/doctors/{doctor['id']}",
        json={"department_id": second_department["id"]},
        headers=admin.headers,
    )
    assert response.status_code == 200
    after = booked(
        client,
        admin,
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start_time=future(clock="12:00"),
    )

    assert after["department_id"] == second_department["id"]
    assert get(client, admin, before["id"]).get_json()["department_id"] == first_department["id"]
    assert appointment_row(app, before["id"])["department_id"] == first_department["id"]


# --- reading ---------------------------------------------------------------------------


@pytest.fixture
def two_practices(factory, doctor_account, patient_account):
    """Appointments of my doctor/my patient, and of strangers: {name: id}."""
    _, my_doctor = doctor_account
    _, me = patient_account
    stranger_doctor, stranger = factory.doctor(), factory.patient()
    return {
        "mine_with_my_doctor": factory.appointment(patient_id=me["id"], doctor_id=my_doctor["id"]),
        "mine_elsewhere": factory.appointment(patient_id=me["id"], doctor_id=stranger_doctor["id"]),
        "my_doctors_other": factory.appointment(
            patient_id=stranger["id"], doctor_id=my_doctor["id"]
        ),
        "strangers": factory.appointment(
            patient_id=stranger["id"], doctor_id=stranger_doctor["id"]
        ),
    }


SEES = {
    "admin": {"mine_with_my_doctor", "mine_elsewhere", "my_doctors_other", "strangers"},
    "receptionist": {"mine_with_my_doctor", "mine_elsewhere", "my_doctors_other", "strangers"},
    "doctor": {"mine_with_my_doctor", "my_doctors_other"},
    "patient": {"mine_with_my_doctor", "mine_elsewhere"},
}


@pytest.fixture
def reader(request, make_account, admin, doctor_account, patient_account):
    role = request.param
    if role == "admin":
        return admin
    if role == "doctor":
        return doctor_account[0]
    if role == "patient":
        return patient_account[0]
    return make_account(role)


@pytest.mark.parametrize("reader", list(SEES), indirect=True)
def test_who_reads_which_appointments(client, reader, two_practices):
    visible = SEES[reader.role]

    for name, appointment_id in two_practices.items():
        response = get(client, reader, appointment_id)
        if name in visible:
            assert response.status_code == 200, name
            assert response.get_json()["id"] == appointment_id
        else:
            assert_problem(response, 404, "not_found")

    response = listed(client, reader)
    assert sorted(ids(response)) == sorted(two_practices[name] for name in visible)
    assert response.headers["X-Total-Count"] == str(len(visible))


def test_a_patient_without_a_record_sees_no_appointments(client, make_account, factory):
    factory.appointment(patient_id=factory.patient()["id"], doctor_id=factory.doctor()["id"])
    account = make_account("patient")
    assert ids(listed(client, account)) == []


def test_a_missing_appointment_is_not_found(client, admin):
    assert_problem(get(client, admin, 424242), 404, "not_found")


def test_list_filters_by_patient_doctor_and_department(client, admin, factory):
    first_department, second_department = factory.department(), factory.department()
    first_doctor = factory.doctor(department_id=first_department["id"])
    second_doctor = factory.doctor(department_id=second_department["id"])
    ann, bob = factory.patient(), factory.patient()
    a1 = factory.appointment(patient_id=ann["id"], doctor_id=first_doctor["id"])
    a2 = factory.appointment(patient_id=ann["id"], doctor_id=second_doctor["id"])
    b1 = factory.appointment(patient_id=bob["id"], doctor_id=first_doctor["id"])

    assert ids(listed(client, admin, patient_id=ann["id"])) == [a1, a2]
    assert ids(listed(client, admin, doctor_id=first_doctor["id"])) == [a1, b1]
    assert ids(listed(client, admin, department_id=second_department["id"])) == [a2]
    assert ids(listed(client, admin, patient_id=bob["id"], doctor_id=second_doctor["id"])) == []


@pytest.mark.parametrize("field", ["patient_id", "doctor_id", "department_id"])
@pytest.mark.parametrize("value", ["987654", "abc", "0"])
def test_a_filter_on_a_missing_record_is_refused(client, admin, field, value):
    assert_problem(listed(client, admin, **{field: value}), 422, "validation_error", field)


def test_list_filters_by_status(client, admin, factory):
    doctor, patient = factory.doctor(), factory.patient()
    made = {
        status: factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"], status=status)
        for status in ("scheduled", "checked_in", "completed", "cancelled", "no_show")
    }

    assert ids(listed(client, admin, status="completed")) == [made["completed"]]
    assert ids(listed(client, admin, status="cancelled,no_show")) == [
        made["cancelled"],
        made["no_show"],
    ]
    assert ids(listed(client, admin, status="scheduled, checked_in")) == [
        made["scheduled"],
        made["checked_in"],
    ]


@pytest.mark.parametrize("status", ["done", "scheduled,done", "SCHEDULED"])
def test_an_unknown_status_filter_is_refused(client, admin, status):
    assert_problem(listed(client, admin, status=status), 422, "validation_error", "status")


@pytest.fixture
def around_a_day(factory):
    """Appointments around one day, 30 days ahead: {name: (start, id)}."""
    doctor, patient = factory.doctor(), factory.patient()
    day = datetime.now(UTC).date() + timedelta(days=30)
    made = {}
    for name, moment in {
        "eve": at(day - timedelta(days=1), "23:30"),
        "midnight": at(day, "00:00"),
        "ten": at(day, "10:00"),
        "eleven": at(day, "11:00"),
        "late": at(day, "23:30"),
        "next": at(day + timedelta(days=1), "00:00"),
    }.items():
        made[name] = factory.appointment(
            patient_id=patient["id"], doctor_id=doctor["id"], start=moment
        )
    return day, made


def test_date_filters_take_whole_days(client, admin, around_a_day):
    day, made = around_a_day
    only_that_day = [made[n] for n in ("midnight", "ten", "eleven", "late")]

    assert ids(listed(client, admin, **{"from": str(day), "to": str(day)})) == only_that_day
    assert ids(listed(client, admin, **{"from": str(day)})) == [*only_that_day, made["next"]]
    assert ids(listed(client, admin, to=str(day - timedelta(days=1))))[-1] == made["eve"]
    assert made["midnight"] not in ids(listed(client, admin, to=str(day - timedelta(days=1))))


def test_datetime_filters_include_from_and_exclude_to(client, admin, around_a_day):
    day, made = around_a_day
    query = {"from": f"{day}T10:00:00Z", "to": f"{day}T11:00:00+00:00"}
    assert ids(listed(client, admin, **query)) == [made["ten"]]
    query = {"from": f"{day}T10:00:01", "to": f"{day}T11:00:01"}
    assert ids(listed(client, admin, **query)) == [made["eleven"]]


def test_date_filters_follow_the_hospital_zone(client, admin, berlin, around_a_day):
    day, made = around_a_day
    # 23:30 UTC the evening before is already that day in Berlin; 23:30 UTC that day is not
    assert ids(listed(client, admin, **{"from": str(day), "to": str(day)})) == [
        made[n] for n in ("eve", "midnight", "ten", "eleven")
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2027-02-30"},
        {"to": "tomorrow"},
        {"from": "2030-01-02", "to": "2030-01-01"},
        {"from": "2030-01-01T10:00:00Z", "to": "2030-01-01T10:00:00Z"},
    ],
)
def test_bad_date_filters_are_refused(client, admin, query):
    response = listed(client, admin, **query)
    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) <= {"from", "to"}


def test_sorting(client, admin, factory):
    doctor, patient = factory.doctor(), factory.patient()
    later = factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=future(days=9)
    )
    sooner = factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=future(days=3)
    )
    middle = factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=future(days=5)
    )

    assert ids(listed(client, admin)) == [sooner, middle, later]
    assert ids(listed(client, admin, sort="start_time")) == [sooner, middle, later]
    assert ids(listed(client, admin, sort="-start_time")) == [later, middle, sooner]
    assert ids(listed(client, admin, sort="created_at")) == [later, sooner, middle]
    assert ids(listed(client, admin, sort="-created_at")) == [middle, sooner, later]
    for bad in ("status", "patient_id", "-", "start_time,created_at"):
        assert_problem(listed(client, admin, sort=bad), 422, "validation_error", "sort")


@pytest.mark.parametrize("role", ["receptionist", "doctor", "patient"])
def test_only_admins_list_archived_appointments(
    client, admin, make_account, factory, doctor_account, patient_account, role
):
    _, my_doctor = doctor_account
    _, me = patient_account
    kept = factory.appointment(patient_id=me["id"], doctor_id=my_doctor["id"])
    gone = factory.appointment(patient_id=me["id"], doctor_id=my_doctor["id"])
    assert client.delete(f"/appointments/{gone}", headers=admin.headers).status_code == 204

    assert ids(listed(client, admin)) == [kept]
    assert ids(listed(client, admin, include_archived="true")) == [kept, gone]
    assert get(client, admin, gone, include_archived="true").status_code == 200

    account = {
        "receptionist": make_account("receptionist"),
        "doctor": doctor_account[0],
        "patient": patient_account[0],
    }[role]
    assert ids(listed(client, account)) == [kept]
    assert_problem(listed(client, account, include_archived="true"), 403, "forbidden")
    assert_problem(get(client, account, gone), 404, "not_found")
    assert_problem(get(client, account, gone, include_archived="true"), 403, "forbidden")
