"""`flask seed-demo`: a realistic demo hospital, loaded once, with a login for each role."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from meditrack import demo
from meditrack.appointments import rules
from meditrack.appointments.models import ACTIVE_STATUSES, Appointment, AppointmentEvent, TimeOff
from meditrack.core import timeutil
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.users.models import User
from tests.conftest import count_rows

TABLES = (
    "departments",
    "doctors",
    "doctor_working_hours",
    "patients",
    "users",
    "appointments",
    "appointment_events",
    "doctor_time_off",
)
#: The status changes each final status went through, from the booking on.
LIFECYCLES = {
    "scheduled": ["scheduled"],
    "checked_in": ["scheduled", "checked_in"],
    "completed": ["scheduled", "checked_in", "completed"],
    "cancelled": ["scheduled", "cancelled"],
    "no_show": ["scheduled", "no_show"],
}


def counts(app) -> dict[str, int]:
    return {table: count_rows(app, table) for table in TABLES}


def seed(runner, *args: str):
    result = runner.invoke(args=["seed-demo", *args])
    assert result.exit_code == 0, result.output
    return result


def assert_schedule_keeps_the_booking_rules(app) -> None:
    """Every rule of booking holds over all the demo appointments, and the mix is right."""
    with app.app_context():
        tz, now, today = timeutil.hospital_tz(), timeutil.now(), timeutil.today()
        with_hours = select(Doctor).options(selectinload(Doctor.working_hours))
        doctors = {d.id: d for d in db.session.scalars(with_hours)}
        rows = db.session.execute(select(*Appointment.__table__.c)).all()
        events = defaultdict(list)
        for event in db.session.execute(
            select(*AppointmentEvent.__table__.c).order_by(
                AppointmentEvent.changed_at, AppointmentEvent.id
            )
        ):
            events[event.appointment_id].append(event)
        time_off = db.session.scalars(select(TimeOff)).all()
        reception = db.session.scalar(select(User.id).where(User.email == demo.RECEPTION_EMAIL))

    past = [a for a in rows if a.start_time <= now]
    ahead = [a for a in rows if a.start_time > now]
    assert 8_000 <= len(rows) <= 15_000 and len(ahead) > 1_000

    # Never two active appointments at once for one doctor or one patient.
    for owner in ("doctor_id", "patient_id"):
        schedules = defaultdict(list)
        for a in rows:
            if a.status in ACTIVE_STATUSES and a.archived_at is None:
                schedules[getattr(a, owner)].append(a)
        for schedule in schedules.values():
            schedule.sort(key=lambda a: a.start_time)
            for first, second in pairwise(schedule):
                assert first.end_time <= second.start_time, (owner, first.id, second.id)

    # Inside the working hours, on the doctor's grid, in the doctor's department.
    period_starts = {}
    for a in rows:
        doctor = doctors[a.doctor_id]
        slot = timedelta(minutes=doctor.slot_minutes)
        assert rules.within_working_hours(doctor.working_hours, a.start_time, a.end_time, tz)
        day = a.start_time.astimezone(tz).date()
        if (doctor.id, day) not in period_starts:
            period_starts[doctor.id, day] = [
                rules.period_bounds(day, p.starts_at, p.ends_at, tz)[0]
                for p in doctor.working_hours
                if p.weekday == day.weekday()
            ]
        on_grid = [start for start in period_starts[doctor.id, day] if start <= a.start_time]
        assert (a.start_time - max(on_grid)) % slot == timedelta(0), a.id
        assert (a.end_time - a.start_time) % slot == timedelta(0), a.id
        assert a.department_id == doctor.department_id

    # A plausible mix: the past mostly completed, what lies ahead scheduled.
    shares = {status: n / len(past) for status, n in Counter(a.status for a in past).items()}
    assert 0.65 <= shares["completed"] <= 0.85, shares
    assert 0.07 <= shares["cancelled"] <= 0.18, shares
    assert 0.04 <= shares["no_show"] <= 0.13, shares
    assert 0 < shares["checked_in"] < 0.01, shares
    assert "scheduled" not in shares
    for a in past:
        if a.status == "checked_in":  # the visits under way this morning
            assert a.start_time.astimezone(tz).date() == today
    assert {a.status for a in ahead} == {"scheduled", "cancelled"}
    assert 0.02 <= sum(a.status == "cancelled" for a in ahead) / len(ahead) <= 0.12
    inactive = {d.id for d in doctors.values() if not d.is_active}
    assert inactive and not [a for a in ahead if a.doctor_id in inactive]
    assert all((a.status == "cancelled") == bool(a.cancellation_reason) for a in rows)
    assert all(a.reason for a in rows) and len({a.reason for a in rows}) > 20

    # Booked by the receptionist beforehand; the history replays each status change.
    for a in rows:
        assert a.created_by == reception
        assert a.created_at < min(a.start_time, now)
        history = events[a.id]
        assert [e.status for e in history] == LIFECYCLES[a.status], a.id
        assert history[0].changed_at == a.created_at and history[0].changed_by == reception
        assert history[-1].changed_at == a.updated_at <= now
        assert all((e.start_time, e.end_time) == (a.start_time, a.end_time) for e in history)
        assert history[-1].reason == a.cancellation_reason

    # Time off ahead for two doctors, with nothing booked in it.
    assert len({off.doctor_id for off in time_off}) == 2
    for off in time_off:
        assert off.start_time > now
        assert not [
            a
            for a in rows
            if a.doctor_id == off.doctor_id
            and rules.overlaps(a.start_time, a.end_time, off.start_time, off.end_time)
        ]


#: A Wednesday mid-morning in a hospital on New York time, whose clocks go forward on
#: 8 March 2026: the demo's days ahead cross a daylight-saving change.
CLOCK = datetime(2026, 3, 4, 11, 10, tzinfo=ZoneInfo("America/New_York"))


def test_seed_builds_the_demo_hospital_once_under_the_booking_rules(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", CLOCK.tzinfo)
    monkeypatch.setattr(timeutil, "now", lambda: CLOCK.astimezone(UTC))
    first = seed(runner, "--if-empty")  # an empty database is loaded
    loaded = counts(app)
    assert loaded["departments"] == 6
    assert loaded["doctors"] == 30
    assert loaded["patients"] == 500
    assert loaded["users"] == 4
    assert loaded["doctor_working_hours"] >= 30 * 5
    assert 8_000 <= loaded["appointments"] <= 15_000
    assert loaded["appointment_events"] > 2 * loaded["appointments"]
    assert loaded["doctor_time_off"] == 2
    assert "Demo hospital loaded" in first.output
    assert_schedule_keeps_the_booking_rules(app)

    again = seed(runner)
    later = seed(runner, "--if-empty")
    assert counts(app) == loaded
    assert "already loaded" in again.output and "already loaded" in later.output
    for output in (first.output, again.output, later.output):
        for email in (demo.ADMIN_EMAIL, demo.RECEPTION_EMAIL, demo.DOCTOR_EMAIL):
            assert email in output
        assert demo.PASSWORD in output


def login(client, email: str) -> dict[str, str]:
    response = client.post("/auth/login", json={"email": email, "password": demo.PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_every_demo_login_signs_in_and_sees_its_data(app, runner, client):
    seed(runner)
    expected = {
        demo.ADMIN_EMAIL: "admin",
        demo.RECEPTION_EMAIL: "receptionist",
        demo.DOCTOR_EMAIL: "doctor",
        demo.PATIENT_EMAIL: "patient",
    }
    me, headers = {}, {}
    for email, role in expected.items():
        headers[role] = login(client, email)
        me[role] = client.get("/auth/me", headers=headers[role]).get_json()
        assert me[role]["role"] == role

    doctor_id, patient_id = me["doctor"]["doctor_id"], me["patient"]["patient_id"]
    assert doctor_id is not None
    assert patient_id is not None
    assert me["admin"]["doctor_id"] is None and me["admin"]["patient_id"] is None

    # Valid and varied records.
    departments = client.get("/departments?per_page=100", headers=headers["admin"]).get_json()
    assert sorted(d["doctor_count"] for d in departments) == [5] * 6

    doctors = client.get("/doctors?per_page=100", headers=headers["admin"]).get_json()
    assert len({d["email"].lower() for d in doctors}) == 30
    assert len({d["license_number"] for d in doctors}) == 30
    assert {d["slot_minutes"] for d in doctors} <= {15, 20, 30}
    assert all(d["working_hours"] for d in doctors)

    patients = client.get("/patients?per_page=100", headers=headers["admin"])
    assert patients.headers["X-Total-Count"] == "500"
    page = patients.get_json()
    assert len({p["gender"] for p in page}) >= 2
    assert len({p["date_of_birth"][:3] for p in page}) >= 5  # births over several decades

    # The doctor login sees its own schedule, the demo patient among it, past and ahead.
    with app.app_context():
        booked = db.session.scalar(
            select(func.count()).where(
                Appointment.doctor_id == doctor_id, Appointment.archived_at.is_(None)
            )
        )
    response = client.get("/appointments?per_page=100", headers=headers["doctor"])
    assert response.status_code == 200
    assert int(response.headers["X-Total-Count"]) == booked > 100
    assert {a["doctor_id"] for a in response.get_json()} == {doctor_id}
    now = datetime.now(UTC)
    with_patient = client.get(
        f"/appointments?patient_id={patient_id}&per_page=100", headers=headers["doctor"]
    ).get_json()
    assert sum(_start(a) < now for a in with_patient) >= 2
    assert sum(_start(a) > now and a["status"] == "scheduled" for a in with_patient) >= 2

    # The patient login sees the same visits, and only hers.
    response = client.get("/appointments?per_page=100", headers=headers["patient"])
    assert response.status_code == 200
    assert [a["id"] for a in response.get_json()] == [a["id"] for a in with_patient]
    assert {a["patient_id"] for a in response.get_json()} == {patient_id}


def _start(appointment: dict) -> datetime:
    return datetime.fromisoformat(appointment["start_time"])


def test_if_empty_leaves_a_database_with_users_alone(app, runner, make_account):
    make_account("admin")
    result = seed(runner, "--if-empty")
    assert counts(app) == {table: int(table == "users") for table in TABLES}
    assert demo.PASSWORD not in result.output


def test_the_login_example_of_the_spec_signs_in_to_the_demo(app, runner, client):
    """/docs' "Try it out" on POST /auth/login sends the document's example: it works on
    the hospital `make run` loads."""
    seed(runner)
    spec = client.get("/openapi.json").get_json()
    login_schema = spec["components"]["schemas"]["Login"]["properties"]
    example = {name: field["example"] for name, field in login_schema.items()}
    assert example["email"] == demo.ADMIN_EMAIL and example["password"] == demo.PASSWORD

    response = client.post("/auth/login", json=example)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["role"] == "admin"
