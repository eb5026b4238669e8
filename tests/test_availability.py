"""Free slots: the slot grid, lengths, booked time, time off, the past, ranges and DST."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event

from meditrack.appointments import rules
from meditrack.appointments.availability import outside
from meditrack.extensions import db
from tests.api_helpers import assert_problem
from tests.scheduling_helpers import MONDAY, SUNDAY, TUESDAY, at, next_weekday

THURSDAY = 3
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def hours(weekday: int, *periods: tuple[str, str]) -> list[dict]:
    return [{"weekday": weekday, "start": start, "end": end} for start, end in periods]


def every_day(start: str, end: str) -> list[dict]:
    return [period for weekday in range(7) for period in hours(weekday, (start, end))]


def doctor_slots(client, account, doctor_id: int, **params):
    return client.get(
        f"/doctors/{doctor_id}/availability", query_string=params, headers=account.headers
    )


def department_slots(client, account, department_id: int, **params):
    return client.get(
        f"/departments/{department_id}/availability", query_string=params, headers=account.headers
    )


def parsed(response) -> list[tuple[datetime, datetime]]:
    """The slots as (start, end) instants; each one must carry its offset."""
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert isinstance(body, list)
    result = []
    for slot in body:
        assert set(slot) == {"start_time", "end_time"}, slot
        start, end = (datetime.fromisoformat(slot[key]) for key in ("start_time", "end_time"))
        assert start.tzinfo is not None and end.tzinfo is not None, slot
        result.append((start, end))
    return result


def parsed_department(response) -> list[tuple[int, datetime, datetime]]:
    assert response.status_code == 200, response.get_json()
    result = []
    for slot in response.get_json():
        assert set(slot) == {"doctor_id", "start_time", "end_time"}, slot
        result.append(
            (
                slot["doctor_id"],
                datetime.fromisoformat(slot["start_time"]),
                datetime.fromisoformat(slot["end_time"]),
            )
        )
    return result


def starts(response) -> list[datetime]:
    return [start for start, _ in parsed(response)]


def grid(day: date, *clocks: str) -> list[datetime]:
    return [at(day, clock) for clock in clocks]


@pytest.fixture
def patient_user(make_account):
    """Anyone signed in may look for free slots; a patient is the usual one."""
    return make_account("patient")


# The grid and the lengths -------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot_minutes", "period", "duration", "expected", "length"),
    [
        pytest.param(20, ("09:00", "10:00"), None, ["09:00", "09:20", "09:40"], 20, id="slot-20"),
        pytest.param(30, ("09:00", "11:00"), 45, ["09:00", "09:30", "10:00"], 45, id="longer"),
        pytest.param(30, ("09:00", "10:00"), 15, ["09:00", "09:30"], 15, id="shorter"),
        pytest.param(30, ("09:10", "10:25"), None, ["09:10", "09:40"], 30, id="off-grid-period"),
        pytest.param(60, ("09:00", "10:00"), 90, [], 90, id="longer-than-period"),
        pytest.param(30, ("09:00", "10:00"), 60, ["09:00"], 60, id="whole-period"),
    ],
)
def test_slots_follow_the_doctors_grid_from_the_period_start(
    client, factory, patient_user, slot_minutes, period, duration, expected, length
):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(slot_minutes=slot_minutes, working_hours=hours(MONDAY, period))
    params = {"date": day.isoformat()} | ({"duration": duration} if duration else {})

    found = parsed(doctor_slots(client, patient_user, doctor["id"], **params))

    assert [start for start, _ in found] == grid(day, *expected)
    period_end = at(day, period[1])
    for start, end in found:
        assert end - start == timedelta(minutes=length)
        assert end <= period_end


def test_two_periods_in_a_day_each_start_their_own_grid(client, factory, patient_user):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(
        slot_minutes=30,
        working_hours=hours(MONDAY, ("13:15", "14:00"), ("09:00", "10:00")),
    )

    found = starts(doctor_slots(client, patient_user, doctor["id"], date=day.isoformat()))

    # The lunch gap 10:00-13:15 gives nothing; the afternoon grid starts at 13:15.
    assert found == grid(day, "09:00", "09:30", "13:15")


def test_availability_is_never_paginated(client, factory, patient_user):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(slot_minutes=5, working_hours=hours(MONDAY, ("08:00", "18:00")))

    response = doctor_slots(
        client, patient_user, doctor["id"], date=day.isoformat(), page=2, per_page=10
    )

    assert len(parsed(response)) == 120  # 10 hours of 5-minute slots, all of them
    assert "Link" not in response.headers


# Booked time, time off and the past ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("scheduled", ["09:00", "10:30"]),
        ("checked_in", ["09:00", "10:30"]),
        ("cancelled", ["09:00", "09:30", "10:00", "10:30"]),
        ("no_show", ["09:00", "09:30", "10:00", "10:30"]),
        ("archived", ["09:00", "09:30", "10:00", "10:30"]),
    ],
)
def test_booked_time_is_skipped_until_it_is_freed(
    client, admin, factory, patient_user, status, expected
):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(slot_minutes=30, working_hours=hours(MONDAY, ("09:00", "11:00")))
    patient = factory.patient()
    appointment = factory.appointment(
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start=at(day, "09:45"),
        minutes=30,
        status="scheduled" if status == "archived" else status,
    )
    if status == "archived":
        archived = client.delete(f"/appointments/{appointment}", headers=admin.headers)
        assert archived.status_code == 204

    found = starts(doctor_slots(client, patient_user, doctor["id"], date=day.isoformat()))

    assert found == grid(day, *expected)


@pytest.mark.parametrize(
    ("booked_start", "minutes", "expected"),
    [
        pytest.param("09:30", 30, ["09:00", "10:00", "10:30"], id="back-to-back"),
        pytest.param("08:00", 61, ["09:30", "10:00", "10:30"], id="spills-into-first"),
        pytest.param("10:59", 5, ["09:00", "09:30", "10:00"], id="last-minute"),
    ],
)
def test_booked_time_blocks_exactly_the_slots_it_overlaps(
    client, factory, patient_user, booked_start, minutes, expected
):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(slot_minutes=30, working_hours=hours(MONDAY, ("09:00", "11:00")))
    colleague = factory.doctor(slot_minutes=30, working_hours=hours(MONDAY, ("09:00", "11:00")))
    patient = factory.patient()
    factory.appointment(
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start=at(day, booked_start),
        minutes=minutes,
    )
    # Another doctor's whole morning is booked: it does not touch this doctor's slots.
    factory.appointment(
        patient_id=factory.patient()["id"],
        doctor_id=colleague["id"],
        start=at(day, "09:00"),
        minutes=120,
    )

    found = starts(doctor_slots(client, patient_user, doctor["id"], date=day.isoformat()))

    assert found == grid(day, *expected)
    assert starts(doctor_slots(client, patient_user, colleague["id"], date=day.isoformat())) == []


@pytest.mark.parametrize(
    ("off_from", "off_to", "expected"),
    [
        pytest.param((0, "10:00"), (0, "10:45"), ["09:00", "09:30"], id="part-of-the-day"),
        pytest.param(
            (-1, "20:00"), (0, "09:30"), ["09:30", "10:00", "10:30"], id="from-last-night"
        ),
        pytest.param((0, "08:00"), (1, "08:00"), [], id="whole-day"),
    ],
)
def test_time_off_is_skipped(client, admin, factory, patient_user, off_from, off_to, expected):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(slot_minutes=30, working_hours=hours(MONDAY, ("09:00", "11:00")))
    colleague = factory.doctor(slot_minutes=30, working_hours=hours(MONDAY, ("09:00", "11:00")))
    body = {
        "start_time": at(day + timedelta(days=off_from[0]), off_from[1]).isoformat(),
        "end_time": at(day + timedelta(days=off_to[0]), off_to[1]).isoformat(),
    }
    added = client.post(f"/doctors/{doctor['id']}/time-off", json=body, headers=admin.headers)
    assert added.status_code == 201, added.get_json()

    found = starts(doctor_slots(client, patient_user, doctor["id"], date=day.isoformat()))

    assert found == grid(day, *expected)
    colleague_slots = doctor_slots(client, patient_user, colleague["id"], date=day.isoformat())
    assert starts(colleague_slots) == grid(day, "09:00", "09:30", "10:00", "10:30")


@pytest.mark.parametrize("with_date", [False, True], ids=["default-today", "date-today"])
def test_slots_of_today_never_start_in_the_past(client, factory, patient_user, with_date):
    doctor = factory.doctor(slot_minutes=15, working_hours=every_day("00:00", "23:59"))
    before = datetime.now(UTC)
    today = before.date()
    params = {"date": today.isoformat()} if with_date else {}

    found = starts(doctor_slots(client, patient_user, doctor["id"], **params))

    after = datetime.now(UTC)
    day_grid = [at(today, "00:00") + timedelta(minutes=15 * n) for n in range(95)]
    assert all(start >= before for start in found)
    assert found == sorted(found)
    # Exactly the grid points still ahead: those after the request, at least, and none
    # that had passed before it.
    assert {p for p in day_grid if p >= after} <= set(found) <= {p for p in day_grid if p >= before}


def test_a_day_in_the_past_has_no_free_slots(client, factory, patient_user):
    doctor = factory.doctor(working_hours=every_day("09:00", "17:00"))
    last_week = datetime.now(UTC).date() - timedelta(days=7)

    found = parsed(
        doctor_slots(client, patient_user, doctor["id"], date=last_week.isoformat(), days=3)
    )

    assert found == []


# Ranges of days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, []),
        (3, [(1, "09:00"), (2, "14:00")]),
        (
            14,
            [(1, "09:00"), (2, "14:00"), (4, "09:00"), (8, "09:00"), (9, "14:00"), (11, "09:00")],
        ),
    ],
)
def test_a_range_of_days_uses_each_days_weekday(client, factory, patient_user, days, expected):
    sunday = next_weekday(SUNDAY)
    doctor = factory.doctor(
        slot_minutes=60,
        working_hours=hours(MONDAY, ("09:00", "10:00"))
        + hours(TUESDAY, ("14:00", "15:00"))
        + hours(THURSDAY, ("09:00", "10:00")),
    )

    found = parsed(
        doctor_slots(client, patient_user, doctor["id"], date=sunday.isoformat(), days=days)
    )

    assert found == [
        (
            at(sunday + timedelta(days=offset), clock),
            at(sunday + timedelta(days=offset), clock) + timedelta(hours=1),
        )
        for offset, clock in expected
    ]
    assert all(start.weekday() in (MONDAY, TUESDAY, THURSDAY) for start, _ in found)


def test_a_doctor_without_working_hours_has_no_slots(client, factory, patient_user):
    doctor = factory.doctor()

    assert (
        parsed(
            doctor_slots(
                client, patient_user, doctor["id"], date=next_weekday(MONDAY).isoformat(), days=14
            )
        )
        == []
    )


# Which doctors ------------------------------------------------------------------------


def test_an_inactive_doctor_has_no_free_slots(client, admin, factory, patient_user):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(is_active=False, working_hours=hours(MONDAY, ("09:00", "10:00")))

    assert parsed(doctor_slots(client, patient_user, doctor["id"], date=day.isoformat())) == []

    activated = client.patch(
        f"/doctors/{doctor['id']}", json={"is_active": True}, headers=admin.headers
    )
    assert activated.status_code == 200
    found = starts(doctor_slots(client, patient_user, doctor["id"], date=day.isoformat()))
    assert found == grid(day, "09:00", "09:30")


def test_an_archived_doctor_is_not_found(client, admin, factory, patient_user):
    day = next_weekday(MONDAY)
    doctor = factory.doctor(working_hours=hours(MONDAY, ("09:00", "10:00")))
    assert client.delete(f"/doctors/{doctor['id']}", headers=admin.headers).status_code == 204

    response = doctor_slots(client, patient_user, doctor["id"], date=day.isoformat())

    assert_problem(response, 404, "not_found")
    department = department_slots(
        client, patient_user, doctor["department_id"], date=day.isoformat()
    )
    assert parsed_department(department) == []


@pytest.mark.parametrize("kind", ["doctor", "department"])
def test_an_unknown_doctor_or_department_is_not_found(client, patient_user, kind):
    fetch = doctor_slots if kind == "doctor" else department_slots

    assert_problem(fetch(client, patient_user, 999_999), 404, "not_found")


# Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["doctor", "department"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 15}, "days"),
        ({"days": -1}, "days"),
        ({"days": "two"}, "days"),
        ({"days": "1.5"}, "days"),
        ({"duration": 4}, "duration"),
        ({"duration": 481}, "duration"),
        ({"duration": "half-hour"}, "duration"),
        ({"date": "2030-02-30"}, "date"),
        ({"date": "30.01.2030"}, "date"),
        ({"date": "2030-01-01T09:00:00"}, "date"),
        ({"date": ""}, "date"),
        ({"date": "0001-01-01"}, "date"),
        ({"date": "9999-12-31", "days": 14}, "date"),
    ],
)
def test_bad_query_values_are_422(client, factory, patient_user, kind, params, field):
    doctor = factory.doctor(working_hours=every_day("09:00", "10:00"))
    fetch, ident = (
        (doctor_slots, doctor["id"])
        if kind == "doctor"
        else (department_slots, doctor["department_id"])
    )

    assert_problem(fetch(client, patient_user, ident, **params), 422, "validation_error", field)


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"days": 14}, 28),  # two slots a day for fourteen days
        ({"duration": 5}, 2),
        ({"duration": 60}, 1),
        ({"duration": 480}, 0),
    ],
)
def test_limits_of_the_query_values_are_accepted(client, factory, patient_user, params, count):
    doctor = factory.doctor(slot_minutes=30, working_hours=every_day("09:00", "10:00"))
    params = {"date": next_weekday(MONDAY).isoformat(), **params}

    assert len(parsed(doctor_slots(client, patient_user, doctor["id"], **params))) == count


# Daylight saving time -----------------------------------------------------------------


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, 31)  # March and October have 31 days
    return last - timedelta(days=(last.weekday() - SUNDAY) % 7)


def next_switch(month: int) -> date:
    """The next Sunday, after today, on which Europe switches the clocks in that month."""
    today = datetime.now(UTC).date()
    this_year = last_sunday(today.year, month)
    return this_year if this_year > today else last_sunday(today.year + 1, month)


@pytest.fixture
def berlin(app, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_TIMEZONE", "Europe/Berlin")
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", BERLIN)


@pytest.mark.parametrize(
    ("month", "offset", "utc_hours"),
    [
        pytest.param(3, "+02:00", (7, 8, 9), id="spring-forward"),
        pytest.param(10, "+01:00", (8, 9, 10), id="fall-back"),
    ],
)
def test_slots_on_a_dst_switch_day_keep_the_wall_clock(
    client, factory, patient_user, berlin, month, offset, utc_hours
):
    switch = next_switch(month)
    doctor = factory.doctor(slot_minutes=60, working_hours=hours(SUNDAY, ("09:00", "12:00")))

    response = doctor_slots(client, patient_user, doctor["id"], date=switch.isoformat())

    assert [slot["start_time"] for slot in response.get_json()] == [
        f"{switch}T{hour:02d}:00:00{offset}" for hour in (9, 10, 11)
    ]
    assert [slot["end_time"] for slot in response.get_json()] == [
        f"{switch}T{hour:02d}:00:00{offset}" for hour in (10, 11, 12)
    ]
    assert [start.astimezone(UTC) for start in starts(response)] == [
        datetime.combine(switch, time(hour), tzinfo=UTC) for hour in utc_hours
    ]


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        # 02:00-03:00 does not exist: two real hours of work, two slots.
        pytest.param(3, ["01:00:00+01:00", "03:00:00+02:00"], id="spring-forward"),
        # 02:00-03:00 happens twice: four real hours of work, four slots.
        pytest.param(
            10,
            ["01:00:00+02:00", "02:00:00+02:00", "02:00:00+01:00", "03:00:00+01:00"],
            id="fall-back",
        ),
    ],
)
def test_a_period_across_the_switch_has_slots_of_real_length(
    client, factory, patient_user, berlin, month, expected
):
    switch = next_switch(month)
    doctor = factory.doctor(slot_minutes=60, working_hours=hours(SUNDAY, ("01:00", "04:00")))

    response = doctor_slots(client, patient_user, doctor["id"], date=switch.isoformat())

    assert [slot["start_time"] for slot in response.get_json()] == [
        f"{switch}T{clock}" for clock in expected
    ]
    assert all(end - start == timedelta(hours=1) for start, end in parsed(response))


# Departments --------------------------------------------------------------------------


def test_department_slots_merge_each_active_doctors_grid_in_time_order(
    client, admin, factory, patient_user
):
    day = next_weekday(MONDAY)
    department = factory.department()["id"]
    morning = hours(MONDAY, ("09:00", "10:00"))
    twenty = factory.doctor(department_id=department, slot_minutes=20, working_hours=morning)
    thirty = factory.doctor(department_id=department, slot_minutes=30, working_hours=morning)
    factory.doctor(department_id=department, is_active=False, working_hours=morning)
    archived = factory.doctor(department_id=department, working_hours=morning)
    assert client.delete(f"/doctors/{archived['id']}", headers=admin.headers).status_code == 204
    factory.doctor(working_hours=morning)  # another department
    factory.appointment(
        patient_id=factory.patient()["id"],
        doctor_id=thirty["id"],
        start=at(day, "09:30"),
        minutes=30,
    )

    found = parsed_department(
        department_slots(client, patient_user, department, date=day.isoformat())
    )

    def slot(doctor, clock, minutes):
        return (doctor["id"], at(day, clock), at(day, clock) + timedelta(minutes=minutes))

    assert found == [
        slot(twenty, "09:00", 20),
        slot(thirty, "09:00", 30),
        slot(twenty, "09:20", 20),
        slot(twenty, "09:40", 20),
    ]


def test_department_slots_take_the_duration_for_every_doctor(client, factory, patient_user):
    day = next_weekday(MONDAY)
    department = factory.department()["id"]
    first = factory.doctor(
        department_id=department, slot_minutes=20, working_hours=hours(MONDAY, ("09:00", "10:00"))
    )
    second = factory.doctor(
        department_id=department, slot_minutes=30, working_hours=hours(MONDAY, ("09:30", "11:00"))
    )

    found = parsed_department(
        department_slots(client, patient_user, department, date=day.isoformat(), duration=60)
    )

    assert [(doctor_id, start) for doctor_id, start, _ in found] == [
        (first["id"], at(day, "09:00")),
        (second["id"], at(day, "09:30")),
        (second["id"], at(day, "10:00")),
    ]
    assert all(end - start == timedelta(minutes=60) for _, start, end in found)


def test_an_empty_department_has_no_slots(client, factory, patient_user):
    department = factory.department()["id"]

    assert parsed_department(department_slots(client, patient_user, department, days=14)) == []


# The cost of a range ------------------------------------------------------------------


@pytest.fixture
def statements(app):
    """The SQL statements sent to the database while the test runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("kind", ["doctor", "department"])
def test_a_few_queries_whatever_the_range(client, admin, factory, patient_user, statements, kind):
    first_day = next_weekday(MONDAY)
    department = factory.department()["id"]
    doctors = [
        factory.doctor(department_id=department, working_hours=every_day("08:00", "12:00"))
        for _ in range(3)
    ]
    patient = factory.patient()["id"]
    for offset in range(0, 14, 2):
        day = first_day + timedelta(days=offset)
        for n, doctor in enumerate(doctors):
            factory.appointment(
                patient_id=patient, doctor_id=doctor["id"], start=at(day, f"{8 + n:02d}:00")
            )
            off = {
                "start_time": at(day + timedelta(days=1), "10:00").isoformat(),
                "end_time": at(day + timedelta(days=1), "11:00").isoformat(),
            }
            added = client.post(
                f"/doctors/{doctor['id']}/time-off", json=off, headers=admin.headers
            )
            assert added.status_code == 201, added.get_json()
    path = (
        f"/doctors/{doctors[0]['id']}/availability"
        if kind == "doctor"
        else f"/departments/{department}/availability"
    )

    def measure(days: int) -> tuple[int, int]:
        statements.clear()
        response = client.get(
            path,
            query_string={"date": first_day.isoformat(), "days": days},
            headers=patient_user.headers,
        )
        assert response.status_code == 200
        return len(statements), len(response.get_json())

    one_day, slots_of_one_day = measure(1)
    two_weeks, slots_of_two_weeks = measure(14)

    assert slots_of_two_weeks > 10 * slots_of_one_day > 0
    assert two_weeks == one_day
    # The caller's sign-in (and BEGIN on SQLite), the doctor or the department and its
    # doctors, their working hours, their appointments and their time off.
    assert one_day <= 9, statements


# The overlap walk ---------------------------------------------------------------------


def outside_by_comparing_all(grid, busy):
    """The straightforward version: every slot against every busy interval."""
    return [
        (start, end)
        for start, end in grid
        if not any(rules.overlaps(start, end, *interval) for interval in busy)
    ]


def random_grid_and_busy(rng: random.Random):
    base = datetime(2030, 3, 4, 14, tzinfo=UTC)

    def at_minute(n: int) -> datetime:
        return base + timedelta(minutes=n)

    # A grid as free slots makes it: starts in order, a fixed length that may exceed the
    # step (slots then overlap each other), and gaps between working periods.
    step, length = rng.choice([5, 10, 15, 30]), rng.choice([5, 10, 15, 30, 45, 90])
    grid, start = [], rng.randrange(60)
    for _ in range(rng.randrange(40)):
        grid.append((at_minute(start), at_minute(start + length)))
        start += step + rng.choice([0, 0, 0, 60])
    # Busy time in any order: overlapping, nested, touching, repeated, outside the grid.
    busy = []
    for _ in range(rng.randrange(15)):
        busy_start = rng.randrange(-60, start + 60)
        busy.append((at_minute(busy_start), at_minute(busy_start + rng.randrange(1, 120))))
    if busy and rng.random() < 0.3:
        busy.append(busy[0])
    return grid, busy


def test_the_overlap_walk_agrees_with_comparing_every_pair():
    for seed in range(2000):
        grid, busy = random_grid_and_busy(random.Random(seed))

        assert list(outside(grid, busy)) == outside_by_comparing_all(grid, busy), seed
