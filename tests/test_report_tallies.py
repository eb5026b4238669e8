"""The hourly tallies of appointments (migration 0005) that the hospital-wide reports read.

Triggers keep them, so every way an appointment is written must leave them equal to a
count made from the appointments themselves: booking, moving (in time, to another
department's doctor, to another length), each status change, archiving and restoring,
the cancellations of a patient's archive, direct updates and deletes. And reports read
from them must give the figures counted straight from the appointments, in zones whose
midnights fall on the hour and in zones whose midnights do not.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text, update

from meditrack.appointments.models import Appointment
from meditrack.core import timeutil
from meditrack.extensions import db
from meditrack.reports import service
from meditrack.reports.models import AppointmentTally
from meditrack.reports.scope import Scope, Window
from tests.scheduling_helpers import booked, future

MICROSECOND = timedelta(microseconds=1)


def stored_tallies(app) -> dict:
    """The tallies, leaving out rows that changes have brought back to nothing."""
    with app.app_context():
        rows = db.session.scalars(select(AppointmentTally)).all()
        return {
            (row.hour, row.department_id, row.status): (
                row.appointments,
                row.duration_us,
                row.lead_us,
            )
            for row in rows
            if (row.appointments, row.duration_us, row.lead_us) != (0, 0, 0)
        }


def counted_tallies(app) -> dict:
    """The tallies as the appointments say they should be."""
    sums = defaultdict(lambda: [0, 0, 0])
    with app.app_context():
        for row in db.session.scalars(select(Appointment).where(Appointment.archived_at.is_(None))):
            hour = row.start_time.replace(minute=0, second=0, microsecond=0)
            entry = sums[(hour, row.department_id, row.status)]
            entry[0] += 1
            entry[1] += (row.end_time - row.start_time) // MICROSECOND
            entry[2] += (row.start_time - row.created_at) // MICROSECOND
    return {key: tuple(value) for key, value in sums.items()}


def assert_exact(app) -> None:
    assert stored_tallies(app) == counted_tallies(app)


def change(client, account, appointment_id: int, **body):
    body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}
    response = client.patch(f"/appointments/{appointment_id}", json=body, headers=account.headers)
    assert response.status_code == 200, response.get_json()


def test_every_write_keeps_the_tallies_exact(app, client, admin, factory):
    cardiology, neurology = factory.department()["id"], factory.department()["id"]
    adams = factory.doctor(department_id=cardiology)["id"]
    baker = factory.doctor(department_id=neurology)["id"]
    ann, bob = factory.patient()["id"], factory.patient()["id"]

    first = booked(client, admin, patient_id=ann, doctor_id=adams, start_time=future(clock="10:00"))
    # 10:45 to 11:15: it counts in the hour it starts.
    second = booked(
        client,
        admin,
        patient_id=bob,
        doctor_id=adams,
        start_time=future(days=8, clock="10:45"),
        duration_minutes=30,
    )
    assert_exact(app)

    change(client, admin, first["id"], start_time=future(days=9, clock="15:00"))
    assert_exact(app)
    change(client, admin, first["id"], doctor_id=baker)  # and so to Neurology
    assert_exact(app)
    change(client, admin, first["id"], duration_minutes=50)
    assert_exact(app)
    change(client, admin, first["id"], notes="Bring the results.")
    assert_exact(app)

    change(client, admin, first["id"], status="checked_in")
    assert_exact(app)
    change(client, admin, first["id"], status="completed")
    assert_exact(app)
    change(client, admin, second["id"], status="cancelled", cancellation_reason="Better")
    assert_exact(app)
    past = factory.appointment(
        patient_id=ann, doctor_id=adams, start=datetime.now(UTC) - timedelta(days=2, hours=3)
    )
    assert_exact(app)
    change(client, admin, past, status="no_show")
    assert_exact(app)

    assert client.delete(f"/appointments/{second['id']}", headers=admin.headers).status_code == 204
    assert_exact(app)
    response = client.post(f"/appointments/{second['id']}/restore", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    assert_exact(app)

    for days in (11, 12):
        booked(client, admin, patient_id=bob, doctor_id=baker, start_time=future(days=days))
    assert_exact(app)
    assert client.delete(f"/patients/{bob}", headers=admin.headers).status_code == 204
    with app.app_context():
        statuses = db.session.scalars(
            select(Appointment.status).where(Appointment.patient_id == bob)
        ).all()
    assert statuses.count("cancelled") == 3  # the archive cancelled the two upcoming ones
    assert_exact(app)

    # Columns the API does not write, to the microsecond, and a row deleted outright.
    odd = datetime.now(UTC).replace(microsecond=123456) + timedelta(days=20)
    odd_id = factory.appointment(patient_id=ann, doctor_id=baker, start=odd, minutes=7)
    with app.app_context():
        db.session.execute(
            update(Appointment)
            .where(Appointment.id == odd_id)
            .values(created_at=odd - timedelta(days=3, microseconds=654321))
        )
        db.session.execute(
            update(Appointment)
            .where(Appointment.id == first["id"])
            .values(archived_at=datetime.now(UTC))
        )
        db.session.commit()
    assert_exact(app)
    with app.app_context():
        db.session.execute(delete(Appointment).where(Appointment.id == past))
        db.session.commit()
    assert_exact(app)
    assert stored_tallies(app)  # not trivially empty


def test_fractions_of_a_second_near_the_next_one_are_exact(app, factory):
    """SQLite's strftime('%s') rounds a timestamp to the millisecond: .999700 s would
    count as the next second, then its fraction again. The tallies read the whole seconds
    without the fraction."""
    doctor, patient = factory.doctor()["id"], factory.patient()["id"]
    start = (datetime.now(UTC) + timedelta(days=12)).replace(microsecond=999700)
    booked_id = factory.appointment(patient_id=patient, doctor_id=doctor, start=start)
    with app.app_context():
        db.session.execute(
            update(Appointment)
            .where(Appointment.id == booked_id)
            .values(
                created_at=start - timedelta(days=2, microseconds=400),
                end_time=start + timedelta(minutes=30, microseconds=300),
            )
        )
        db.session.commit()
    assert_exact(app)
    (figures,) = stored_tallies(app).values()
    assert figures == (1, 30 * 60 * 10**6 + 300, 2 * 86400 * 10**6 + 400)


@pytest.mark.postgres_only
def test_truncating_appointments_empties_the_tallies(app, factory):
    doctor, patient = factory.doctor()["id"], factory.patient()["id"]
    factory.appointment(patient_id=patient, doctor_id=doctor)
    assert stored_tallies(app)
    with app.app_context():
        db.session.execute(text("TRUNCATE appointments CASCADE"))
        db.session.commit()
    assert stored_tallies(app) == {} == counted_tallies(app)


# Reports read from the tallies ------------------------------------------------------------

ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
STATUSES = ("scheduled", "checked_in", "completed", "cancelled", "no_show")


@pytest.fixture
def busy_fortnight(app, factory):
    """About 600 appointments over the days around a DST change (New York and Lord Howe
    both change on 2025-04-06; 02:00 on 2025-03-09 in New York), in two departments, at
    odd minutes and microseconds, many close to where a hospital day starts, some
    archived."""
    rng = random.Random(5)
    departments = [factory.department()["id"] for _ in range(2)]
    doctors = [factory.doctor(department_id=d)["id"] for d in departments for _ in range(2)]
    patients = [factory.patient()["id"] for _ in range(5)]
    first = datetime(2025, 3, 3, tzinfo=UTC)
    with app.app_context():
        rows = []
        for day in list(range(12)) + list(range(31, 40)):
            for n in range(30):
                doctor = rng.choice(doctors)
                # Active ones may not overlap: one a day, over by 20:00.
                status = rng.choice(STATUSES[:2] if n == 0 else STATUSES[2:])
                if n == 0:
                    minute = rng.randrange(12 * 60)
                elif n < 15:
                    minute = rng.randrange(24 * 60)
                else:  # near where hospital days start: UTC, New York, Lord Howe, Kolkata
                    minute = rng.choice([-30, 240, 300, 780, 810, 1080, 1110]) + rng.randrange(30)
                start = first + timedelta(
                    days=day, minutes=minute, microseconds=rng.randrange(10**6)
                )
                rows.append(
                    Appointment(
                        patient_id=rng.choice(patients),
                        doctor_id=doctor,
                        department_id=departments[doctors.index(doctor) // 2],
                        start_time=start,
                        end_time=start + timedelta(minutes=rng.choice([5, 20, 30, 45, 480])),
                        status=status,
                        created_at=start - timedelta(hours=rng.randrange(1, 2000)),
                        archived_at=start if rng.random() < 0.1 else None,
                    )
                )
        db.session.add_all(rows)
        db.session.commit()
    return departments


def expected_figures(tz, first: date, last: date, department_id=None):
    """Counts per status, booked minutes and lead time, and counts per hospital day,
    straight from the appointments."""
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    totals = defaultdict(int)
    per_day = defaultdict(lambda: defaultdict(int))
    booked = lead = timedelta()
    stmt = select(Appointment).where(
        Appointment.archived_at.is_(None),
        Appointment.start_time >= start,
        Appointment.start_time < end,
    )
    if department_id is not None:
        stmt = stmt.where(Appointment.department_id == department_id)
    for row in db.session.scalars(stmt):
        totals[row.status] += 1
        per_day[row.start_time.astimezone(tz).date()][row.status] += 1
        if row.status != "cancelled":
            booked += row.end_time - row.start_time
        lead += row.start_time - row.created_at
    count = sum(totals.values())
    return {
        "appointments": {"total": count, **{status: totals[status] for status in STATUSES}},
        "booked_minutes": round(booked.total_seconds() / 60),
        "avg_lead_time_days": round(lead.total_seconds() / 60 / count / 1440, 2) if count else None,
        "daily": [
            {
                "date": first + timedelta(days=n),
                "total": sum(per_day[first + timedelta(days=n)].values()),
                **{s: per_day[first + timedelta(days=n)][s] for s in STATUSES},
            }
            for n in range((last - first).days + 1)
        ],
    }


@pytest.mark.parametrize("zone", ZONES)
def test_reports_from_tallies_match_the_appointments(app, monkeypatch, busy_fortnight, zone):
    tz = ZoneInfo(zone)
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", tz)
    windows = [
        (date(2025, 3, 3), date(2025, 3, 14)),
        (date(2025, 3, 8), date(2025, 3, 10)),  # New York's spring change
        (date(2025, 4, 4), date(2025, 4, 8)),  # New York and Lord Howe's autumn change
        (date(2025, 3, 5), date(2025, 3, 5)),
        (date(2025, 3, 1), date(2025, 4, 30)),
    ]
    with app.app_context():
        for first, last in windows:
            for department_id in (None, *busy_fortnight):
                expected = expected_figures(tz, first, last, department_id)
                window = Window(
                    first, last, timeutil.day_bounds(first)[0], timeutil.day_bounds(last)[1]
                )
                scope = Scope(window, department_id, None)
                overview = service.overview(scope)
                assert overview["appointments"] == expected["appointments"]
                lead = overview["avg_lead_time_days"]
                assert (lead if lead is None else float(lead)) == expected["avg_lead_time_days"]
                if department_id is not None:
                    (row,) = service.departments(scope)
                    assert row["booked_minutes"] == expected["booked_minutes"]
                assert service.daily(scope) == expected["daily"]
