"""No two active appointments of one doctor or one patient ever overlap, under real load.

The application is served on a real socket and hit by many client threads at once; the
database's own guard (exclusion constraints on PostgreSQL, triggers on SQLite) is then
checked with plain SQL, and the service's mapping of a race lost at the database to a 409.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from meditrack.appointments import service
from meditrack.appointments.models import ACTIVE_STATUSES, Appointment
from meditrack.core.db import UTCDateTime
from meditrack.extensions import db
from tests.api_helpers import assert_problem
from tests.conftest import count_rows

CLIENTS = 20
ROUNDS = 3
TIMEOUT = 60  # seconds; a safety net against a hung test, never an assertion
PROBLEM_JSON = "application/problem+json"


# A real server and real clients ------------------------------------------------------


@pytest.fixture
def live_server(app):
    """The test app on a real socket, one thread per connection; (host, port)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.host, server.port
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT)


def fire(address, requests: list[tuple[str, str, dict, dict]]) -> list[tuple[int, str, dict]]:
    """Send every (method, path, body, headers) at once, one connection and thread each;
    the answers as (status, content type, body), in the order of the requests."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def send(index: int, method: str, path: str, body: dict, headers: dict) -> None:
        connection = http.client.HTTPConnection(*address, timeout=TIMEOUT)
        try:
            connection.connect()
            payload = json.dumps(body).encode()
            headers = {**headers, "Content-Type": "application/json"}
            barrier.wait(TIMEOUT)
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            answers[index] = (
                response.status,
                response.getheader("Content-Type", "").split(";")[0],
                json.loads(raw) if raw else {},
            )
        except Exception as exc:  # reported below, with the request that failed
            answers[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    failed = [(requests[i][:2], a) for i, a in enumerate(answers) if not isinstance(a, tuple)]
    assert not failed, failed
    return answers


def assert_one_winner(answers, *success: int) -> dict:
    """Exactly one success; every other answer a 409 appointment_conflict problem naming
    only clashing times. The winner's body."""
    statuses = sorted(status for status, _, _ in answers)
    allowed = {*success, 409}
    assert set(statuses) <= allowed, [a for a in answers if a[0] not in allowed]
    assert len(statuses) - statuses.count(409) == 1, statuses
    winner = None
    for status, mimetype, body in answers:
        if status != 409:
            winner = body
            continue
        assert mimetype == PROBLEM_JSON, (mimetype, body)
        assert body["status"] == 409 and body["code"] == "appointment_conflict", body
        assert body["conflicts"], body
        for clash in body["conflicts"]:
            assert clash.keys() == {"start_time", "end_time"}, clash
    return winner


def active_ids(app, start: datetime, end: datetime, *, doctor_id=None, patient_id=None):
    """Ids of the active appointments of a doctor or a patient overlapping [start, end)."""
    with app.app_context():
        stmt = select(Appointment.id).where(
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.archived_at.is_(None),
            Appointment.start_time < end,
            Appointment.end_time > start,
        )
        if doctor_id is not None:
            stmt = stmt.where(Appointment.doctor_id == doctor_id)
        if patient_id is not None:
            stmt = stmt.where(Appointment.patient_id == patient_id)
        return list(db.session.scalars(stmt))


def day_at(days: int, hour: int) -> datetime:
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def staff(admin, receptionist):
    """Admin and receptionist headers, taken in turns by the clients."""
    return [admin.headers, receptionist.headers]


@pytest.mark.postgres_only
def test_a_deadlock_is_a_503_to_send_again_and_writes_nothing(
    app, live_server, factory, receptionist, database_url
):
    """Another client locks the patient, the booking locks the doctor and waits for the
    patient, the other client then asks for the doctor: a real deadlock, which
    PostgreSQL breaks by undoing the booking's transaction."""
    doctor, patient = factory.doctor()["id"], factory.patient()["id"]
    url = make_url(database_url).set(drivername="postgresql")
    other = psycopg.connect(url.render_as_string(hide_password=False))
    answer: dict = {}

    def book() -> None:
        connection = http.client.HTTPConnection(*live_server, timeout=TIMEOUT)
        body = {"doctor_id": doctor, "patient_id": patient}
        body |= {"start_time": day_at(2, 10).isoformat(), "duration_minutes": 30}
        headers = {**receptionist.headers, "Content-Type": "application/json"}
        connection.request("POST", "/appointments", json.dumps(body), headers)
        response = connection.getresponse()
        answer.update(status=response.status, headers=dict(response.getheaders()))
        answer["body"] = json.loads(response.read())
        connection.close()

    try:
        # The other client waits longer before looking for deadlocks, so PostgreSQL
        # finds this one from the booking's side.
        other.execute("SET deadlock_timeout = '20s'")
        other.execute("SELECT id FROM patients WHERE id = %s FOR UPDATE", (patient,))
        thread = threading.Thread(target=book)
        thread.start()
        _wait_for_a_lock_wait(other)
        other.execute("SELECT id FROM doctors WHERE id = %s FOR UPDATE", (doctor,))
        thread.join(TIMEOUT)
    finally:
        other.rollback()
        other.close()
    assert answer["status"] == 503, answer
    assert answer["headers"]["Content-Type"] == PROBLEM_JSON
    assert answer["headers"]["Retry-After"] == "1"
    assert answer["body"]["code"] == "service_unavailable"
    assert "send it again" in answer["body"]["detail"]
    assert count_rows(app, "appointments") == 0
    assert count_rows(app, "appointment_events") == 0


def _wait_for_a_lock_wait(connection, seconds: float = TIMEOUT) -> None:
    """Until some other backend of this database waits for a row lock."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the booking never waited for the patient's lock")


@pytest.mark.postgres_only
def test_archives_and_bookings_at_once_never_deadlock(app, live_server, factory, staff):
    """Archiving a patient cancels their upcoming appointments, changing the hourly tallies
    of migration 0005. Two archives whose appointments lie in the same hours in opposite
    orders of id, and bookings for the patients being archived, all at once: every
    request must end as it would alone (204; 201, 409 or 422 for a booking), never as a
    deadlock broken by PostgreSQL."""
    department = factory.department()["id"]
    doctors = [factory.doctor(department_id=department)["id"] for _ in range(4)]
    for round_ in range(4):
        first, second = factory.patient()["id"], factory.patient()["id"]
        hours = [9, 10, 11, 12, 13, 14]
        for n, hour in enumerate(hours):
            day = 20 + round_
            factory.appointment(patient_id=first, doctor_id=doctors[0], start=day_at(day, hour))
            factory.appointment(
                patient_id=second, doctor_id=doctors[1], start=day_at(day, hours[-1 - n])
            )
        bookings = [
            (
                "POST",
                "/appointments",
                {
                    "doctor_id": doctors[2 + i % 2],
                    "patient_id": (first, second)[i % 2],
                    "start_time": day_at(20 + round_, 9 + i).isoformat(),
                    "duration_minutes": 30,
                },
                staff[i % 2],
            )
            for i in range(4)
        ]
        archives = [
            ("DELETE", f"/patients/{patient}", {}, staff[i])
            for i, patient in enumerate((first, second))
        ]
        answers = fire(live_server, archives + bookings)
        assert [status for status, _, _ in answers[:2]] == [204, 204], answers
        # a booking: made, refused (the patient is busy then), or for a patient now archived
        assert all(status in (201, 409, 422) for status, _, _ in answers[2:]), answers


# Concurrent requests over HTTP ---------------------------------------------------------


def test_one_doctor_one_slot_many_clients(app, live_server, factory, staff):
    doctor = factory.doctor()
    patients = [factory.patient()["id"] for _ in range(CLIENTS)]
    for round_ in range(ROUNDS):
        base = day_at(2 + round_, 9 + round_)
        requests = [
            (
                "POST",
                "/appointments",
                {
                    "doctor_id": doctor["id"],
                    "patient_id": patient_id,
                    # Starts staggered by 5 minutes within 25: every pair overlaps.
                    "start_time": (base + timedelta(minutes=5 * (i % 6))).isoformat(),
                    "duration_minutes": 30,
                },
                staff[i % 2],
            )
            for i, patient_id in enumerate(patients)
        ]
        winner = assert_one_winner(fire(live_server, requests), 201)
        window = (base, base + timedelta(minutes=55))
        assert active_ids(app, *window, doctor_id=doctor["id"]) == [winner["id"]]
    assert count_rows(app, "appointments") == ROUNDS


def test_one_patient_many_doctors_many_clients(app, live_server, factory, staff):
    department = factory.department()["id"]
    doctors = [factory.doctor(department_id=department)["id"] for _ in range(4)]
    patient = factory.patient()["id"]
    for round_ in range(ROUNDS):
        base = day_at(3 + round_, 14 - round_)
        requests = [
            (
                "POST",
                "/appointments",
                {
                    "doctor_id": doctors[i % len(doctors)],
                    "patient_id": patient,
                    "start_time": (base + timedelta(minutes=3 * (i % 8))).isoformat(),
                    "end_time": (base + timedelta(minutes=3 * (i % 8) + 30)).isoformat(),
                },
                staff[i % 2],
            )
            for i in range(CLIENTS)
        ]
        winner = assert_one_winner(fire(live_server, requests), 201)
        window = (base, base + timedelta(minutes=60))
        assert active_ids(app, *window, patient_id=patient) == [winner["id"]]
        for doctor_id in doctors:
            expected = [winner["id"]] if doctor_id == winner["doctor_id"] else []
            assert active_ids(app, *window, doctor_id=doctor_id) == expected
    assert count_rows(app, "appointments") == ROUNDS


def test_concurrent_moves_into_one_slot(app, live_server, factory, staff):
    """Two appointments moved into one slot at once, a few times; then ten."""
    doctor = factory.doctor()["id"]
    patients = [factory.patient()["id"] for _ in range(10)]
    for round_, movers in enumerate([2] * ROUNDS + [10]):
        slot = day_at(4 + round_, 10)
        # Each appointment starts in its own free hour, later the same day.
        ids = [
            factory.appointment(
                patient_id=patients[i], doctor_id=doctor, start=slot + timedelta(hours=1 + i)
            )
            for i in range(movers)
        ]
        requests = [
            (
                "PATCH",
                f"/appointments/{appointment_id}",
                {"start_time": (slot + timedelta(minutes=10 * (i % 3))).isoformat()},
                staff[i % 2],
            )
            for i, appointment_id in enumerate(ids)
        ]
        answers = fire(live_server, requests)
        winner = assert_one_winner(answers, 200)
        assert winner["duration_minutes"] == 30
        assert active_ids(app, slot, slot + timedelta(minutes=50), doctor_id=doctor) == [
            winner["id"]
        ]
        for i, (appointment_id, (status, _, _)) in enumerate(zip(ids, answers, strict=True)):
            if status == 409:  # a loser stayed where it was
                with app.app_context():
                    row = db.session.get(Appointment, appointment_id)
                    assert row.start_time == slot + timedelta(hours=1 + i)


def test_bookings_and_moves_racing_for_one_slot(app, live_server, factory, staff):
    """Half the clients book the slot, the other half move an existing appointment into
    it: one of them gets it."""
    doctor = factory.doctor()["id"]
    half = CLIENTS // 2
    patients = [factory.patient()["id"] for _ in range(CLIENTS)]
    rows = 0
    for round_ in range(ROUNDS):
        slot = day_at(5 + round_, 8)
        movers = [
            factory.appointment(
                patient_id=patients[i],
                doctor_id=doctor,
                start=slot + timedelta(hours=1 + i),
                minutes=20,
            )
            for i in range(half)
        ]
        requests = [
            ("PATCH", f"/appointments/{appointment_id}", {"start_time": slot.isoformat()})
            for appointment_id in movers
        ] + [
            (
                "POST",
                "/appointments",
                {
                    "doctor_id": doctor,
                    "patient_id": patient_id,
                    "start_time": (slot + timedelta(minutes=5)).isoformat(),
                },
            )
            for patient_id in patients[half:]
        ]
        answers = fire(live_server, [(*r, staff[i % 2]) for i, r in enumerate(requests)])
        winner = assert_one_winner(answers, 200, 201)
        assert active_ids(app, slot, slot + timedelta(minutes=35), doctor_id=doctor) == [
            winner["id"]
        ]
        for i, appointment_id in enumerate(movers):
            if answers[i][0] == 409:  # a mover that lost stayed where it was
                with app.app_context():
                    row = db.session.get(Appointment, appointment_id)
                    assert row.start_time == slot + timedelta(hours=1 + i)
        rows += half + sum(status == 201 for status, _, _ in answers)
        assert count_rows(app, "appointments") == rows


# The database's own guard, without the application --------------------------------------

# Times are bound through the column type, so each database gets its own format.
INSERT = text(
    "INSERT INTO appointments (patient_id, doctor_id, department_id, start_time, end_time, "
    "status, archived_at, created_at, updated_at) VALUES (:patient_id, :doctor_id, "
    ":department_id, :start_time, :end_time, :status, :archived_at, :now, :now) RETURNING id"
).bindparams(
    *(
        bindparam(name, type_=UTCDateTime())
        for name in ("start_time", "end_time", "archived_at", "now")
    )
)


def overlap_refused(exc: IntegrityError) -> bool:
    """The exclusion constraint (SQLSTATE 23P01) or the SQLite trigger refused it."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or "appointment_conflict" in str(exc.orig)


class Raw:
    """Appointments written with plain SQL, each statement in its own transaction."""

    def __init__(self, app, factory):
        self.app = app
        self.department = factory.department()["id"]
        self.doctors = [factory.doctor(department_id=self.department)["id"] for _ in range(2)]
        self.patients = [factory.patient()["id"] for _ in range(3)]
        self.base = day_at(7, 10)

    def at(self, minutes: int) -> datetime:
        return self.base + timedelta(minutes=minutes)

    def insert(self, *, doctor=0, patient=0, start=0, end=30, status="scheduled", archived=False):
        with self.app.app_context(), db.engine.begin() as conn:
            return conn.execute(
                INSERT,
                {
                    "patient_id": self.patients[patient],
                    "doctor_id": self.doctors[doctor],
                    "department_id": self.department,
                    "start_time": self.at(start),
                    "end_time": self.at(end),
                    "status": status,
                    "archived_at": datetime.now(UTC) if archived else None,
                    "now": datetime.now(UTC),
                },
            ).scalar_one()

    def update(self, row_id: int, sql: str, **params) -> None:
        stmt = text(f"UPDATE appointments SET {sql} WHERE id = :id").bindparams(
            *(bindparam(name, type_=UTCDateTime()) for name in params)
        )
        with self.app.app_context(), db.engine.begin() as conn:
            conn.execute(stmt, {"id": row_id, **params})

    def refused(self, write, *args, **kwargs) -> None:
        with pytest.raises(IntegrityError) as caught:
            write(*args, **kwargs)
        assert overlap_refused(caught.value), caught.value.orig

    def count(self) -> int:
        return count_rows(self.app, "appointments")


@pytest.fixture
def raw(app, factory) -> Raw:
    return Raw(app, factory)


# The second appointment shares the doctor (another patient) or the patient (another
# doctor) with the first.
SHARED = {"doctor": {"doctor": 0, "patient": 1}, "patient": {"doctor": 1, "patient": 0}}


def test_database_refuses_an_overlapping_insert(raw):
    for day, (shared, status) in enumerate(
        (shared, status) for shared in SHARED for status in ACTIVE_STATUSES
    ):
        first = 24 * 60 * day
        raw.insert(start=first, end=first + 30)
        for start, end in ((15, 45), (-10, 40), (5, 10), (0, 30)):  # across, around, inside
            raw.refused(
                raw.insert,
                start=first + start,
                end=first + end,
                status=status,
                **SHARED[shared],
            )
    assert raw.count() == len(SHARED) * len(ACTIVE_STATUSES)


def test_database_accepts_an_overlap_with_free_time_or_back_to_back(raw):
    """Cancelled, no-show, completed and archived appointments hold no time, whichever
    of the two rows it is; back-to-back appointments do not overlap."""
    kinds = [{"status": s} for s in ("cancelled", "no_show", "completed")] + [{"archived": True}]
    day = 0
    for shared in SHARED.values():
        for inactive in kinds:
            first = 24 * 60 * day
            raw.insert(start=first, end=first + 30)
            raw.insert(start=first + 15, end=first + 45, **shared, **inactive)
            raw.insert(start=first + 60, end=first + 90, **shared, **inactive)
            raw.insert(start=first + 75, end=first + 105)
            day += 1
        first = 24 * 60 * day
        raw.insert(start=first, end=first + 30)
        raw.insert(start=first + 30, end=first + 60, **shared)
        raw.insert(start=first - 30, end=first, **shared)
        day += 1
    assert raw.count() == len(SHARED) * (4 * len(kinds) + 3)


@pytest.mark.parametrize("shared", SHARED)
def test_database_refuses_an_update_into_an_overlap(raw, shared):
    raw.insert(start=0, end=30)
    later = raw.insert(start=60, end=90, **SHARED[shared])
    raw.refused(raw.update, later, "start_time = :s, end_time = :e", s=raw.at(20), e=raw.at(50))
    raw.update(later, "start_time = :s, end_time = :e", s=raw.at(30), e=raw.at(60))

    # Bringing a freed appointment back into a taken time is refused too.
    cancelled = raw.insert(start=10, end=40, status="cancelled", **SHARED[shared])
    raw.refused(raw.update, cancelled, "status = 'scheduled'")
    archived = raw.insert(start=10, end=40, archived=True, **SHARED[shared])
    raw.refused(raw.update, archived, "archived_at = NULL")
    # ...and so is giving an appointment to a doctor or a patient busy at its time.
    elsewhere = raw.insert(start=0, end=30, doctor=1, patient=2)
    if shared == "doctor":
        raw.refused(raw.update, elsewhere, f"doctor_id = {raw.doctors[0]}")
    else:
        raw.refused(raw.update, elsewhere, f"patient_id = {raw.patients[0]}")

    # Every refused write left its row as it was.
    with raw.app.app_context():
        rows = db.session.execute(
            select(
                Appointment.start_time,
                Appointment.status,
                Appointment.archived_at.is_not(None),
                Appointment.doctor_id,
                Appointment.patient_id,
            ).order_by(Appointment.id)
        ).all()
    doctor, patient = raw.doctors[SHARED[shared]["doctor"]], raw.patients[SHARED[shared]["patient"]]
    assert [tuple(row) for row in rows] == [
        (raw.at(0), "scheduled", False, raw.doctors[0], raw.patients[0]),
        (raw.at(30), "scheduled", False, doctor, patient),
        (raw.at(10), "cancelled", False, doctor, patient),
        (raw.at(10), "scheduled", True, doctor, patient),
        (raw.at(0), "scheduled", False, raw.doctors[1], raw.patients[2]),
    ]


# A race lost at the database is still a clear 409 --------------------------------------


@pytest.fixture
def precheck_misses(monkeypatch):
    """The service's own overlap check finds nothing the first time it is asked, as if a
    concurrent booking committed just after it looked."""
    real = service.conflicts
    calls = []

    def first_misses(*args, **kwargs):
        calls.append(args)
        return [] if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(service, "conflicts", first_misses)
    return calls


def test_booking_that_loses_at_the_database_is_a_conflict(
    app, client, admin, factory, precheck_misses
):
    doctor = factory.doctor()["id"]
    start = day_at(6, 11)
    factory.appointment(patient_id=factory.patient()["id"], doctor_id=doctor, start=start)
    other = factory.patient()["id"]
    before = count_rows(app, "appointments"), count_rows(app, "appointment_events")

    response = client.post(
        "/appointments",
        json={
            "doctor_id": doctor,
            "patient_id": other,
            "start_time": (start + timedelta(minutes=10)).isoformat(),
        },
        headers=admin.headers,
    )

    body = assert_problem(response, 409, "appointment_conflict")
    assert body["conflicts"] == [
        {"start_time": start.isoformat(), "end_time": (start + timedelta(minutes=30)).isoformat()}
    ]
    assert len(precheck_misses) == 2  # the missed check, then the answer's
    assert (count_rows(app, "appointments"), count_rows(app, "appointment_events")) == before


def test_move_that_loses_at_the_database_is_a_conflict(
    app, client, admin, factory, precheck_misses
):
    doctor = factory.doctor()["id"]
    start = day_at(6, 11)
    factory.appointment(patient_id=factory.patient()["id"], doctor_id=doctor, start=start)
    later = start + timedelta(hours=2)
    moving = factory.appointment(patient_id=factory.patient()["id"], doctor_id=doctor, start=later)
    before = count_rows(app, "appointment_events")

    response = client.patch(
        f"/appointments/{moving}",
        json={"start_time": (start + timedelta(minutes=20)).isoformat()},
        headers=admin.headers,
    )

    body = assert_problem(response, 409, "appointment_conflict")
    assert body["conflicts"] == [
        {"start_time": start.isoformat(), "end_time": (start + timedelta(minutes=30)).isoformat()}
    ]
    assert count_rows(app, "appointment_events") == before
    with app.app_context():
        assert db.session.get(Appointment, moving).start_time == later
