"""Who is busy when: the locks that queue writes to one doctor's or one patient's schedule,
and the overlap tests of the no-overlap rule.

On PostgreSQL the overlap tests are written in the form of the no-overlap exclusion
constraints (`tstzrange(start_time, end_time, '[)') && ...`), so the constraints' GiST
indexes answer them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, literal, literal_column, or_, select
from sqlalchemy.exc import IntegrityError

from meditrack.appointments.models import ACTIVE_STATUSES, Appointment
from meditrack.core import timeutil
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.patients.models import Patient


def hold_schedules(doctor_id: int, patient_id: int) -> None:
    """Queue behind any other write to this doctor's or this patient's schedule until it
    commits, so that the overlap check that follows sees it.

    On PostgreSQL the doctor's and the patient's rows are locked (FOR NO KEY UPDATE, which
    leaves foreign-key checks alone), always the doctor first, so that no two bookings
    ever wait on each other in a cycle. Without it, concurrent overlapping inserts each
    wait inside the exclusion constraints for the other to finish, and PostgreSQL breaks
    the cycle by failing one with a deadlock error instead of an appointment_conflict.
    SQLite needs nothing here: its write requests already hold the database's write lock.
    """
    _lock(Doctor, doctor_id)
    _lock(Patient, patient_id)


def hold_schedule(doctor_id: int) -> None:
    """The same for a change to one doctor's schedule alone (time off)."""
    _lock(Doctor, doctor_id)


def hold_patient_schedule(patient_id: int) -> None:
    """The same for a change to one patient's schedule alone (their archiving)."""
    _lock(Patient, patient_id)


def _lock(model: type, row_id: int) -> None:
    if is_postgresql():
        db.session.execute(
            select(model.id).where(model.id == row_id).with_for_update(key_share=True)
        )


def read_held(model: type, row_id: int, *options):
    """The row by id (or None), read with the lock `hold_schedules` takes."""
    stmt = select(model).options(*options).where(model.id == row_id)
    if is_postgresql():
        stmt = stmt.with_for_update(key_share=True, of=model)
    return db.session.scalars(stmt).unique().one_or_none()


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def active_overlapping(start: datetime, end: datetime) -> Select:
    return select(Appointment).where(
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.archived_at.is_(None),
        overlapping(start, end),
    )


def overlapping(start: datetime, end: datetime) -> ColumnElement[bool]:
    """An appointment's time overlaps [start, end).

    On PostgreSQL the test is also written as a range overlap, the form the GiST indexes
    of the no-overlap constraints answer for active appointments: only the overlapping
    rows are then read, where the comparisons alone read all of a doctor's upcoming ones.
    """
    compared = and_(Appointment.start_time < end, Appointment.end_time > start)
    if not is_postgresql():
        return compared
    instant = Appointment.start_time.type
    wanted = _time_range(literal(start, instant), literal(end, instant))
    booked = _time_range(Appointment.start_time, Appointment.end_time)
    return and_(compared, booked.op("&&")(wanted))


def _time_range(start, end) -> ColumnElement:
    """tstzrange(start, end, '[)'), written as the constraints' indexes have it."""
    return func.tstzrange(start, end, literal_column("'[)'"))


def conflicts(
    doctor_id: int,
    patient_id: int,
    start: datetime,
    end: datetime,
    *,
    exclude_id: int | None = None,
) -> list[dict]:
    """The clashing time ranges: never whose they are."""
    stmt = (
        active_overlapping(start, end)
        .where(or_(Appointment.doctor_id == doctor_id, Appointment.patient_id == patient_id))
        .order_by(Appointment.start_time)
    )
    if exclude_id is not None:
        stmt = stmt.where(Appointment.id != exclude_id)
    return [time_range(row) for row in db.session.scalars(stmt)]


def time_range(row) -> dict:
    tz = timeutil.hospital_tz()
    return {
        "start_time": row.start_time.astimezone(tz).isoformat(),
        "end_time": row.end_time.astimezone(tz).isoformat(),
    }


def is_overlap_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23P01" or "appointment_conflict" in str(exc.orig)
