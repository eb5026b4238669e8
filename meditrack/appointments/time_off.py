"""A doctor's time off: staff and the doctor read it; admins and the doctor change it."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from meditrack.appointments import rules
from meditrack.appointments.models import Appointment, TimeOff
from meditrack.appointments.overlaps import active_overlapping, hold_schedule, time_range
from meditrack.appointments.rules import AppointmentConflict
from meditrack.appointments.schemas import TimeOffQuery
from meditrack.core import timeutil
from meditrack.core.errors import Forbidden, NotFound
from meditrack.core.pagination import Page, order_by, paginate
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.permissions import Actor
from meditrack.users.models import Role


def _is_that_doctor(actor: Actor, doctor: Doctor) -> bool:
    return actor.role == Role.DOCTOR and actor.doctor_id == doctor.id


def list_time_off(*, actor: Actor, doctor: Doctor, args: Mapping) -> Page:
    if not (actor.is_staff or _is_that_doctor(actor, doctor)):
        raise Forbidden("Only staff and the doctor see the doctor's time off.")
    stmt = select(TimeOff).where(TimeOff.doctor_id == doctor.id)
    return paginate(
        order_by(stmt, args.get("sort"), TimeOffQuery.SORTS, "start_time", TimeOff.id), args
    )


def add_time_off(*, actor: Actor, doctor: Doctor, data: Mapping) -> TimeOff:
    """Refused with the clashing appointments while booked time falls inside it."""
    _require_may_change(actor, doctor)
    start, end = data["start_time"], data["end_time"]
    rules.check_start(start, timeutil.now(), future=False)
    hold_schedule(doctor.id)  # a booking for this doctor waits, or is waited for
    booked = db.session.scalars(
        active_overlapping(start, end)
        .where(Appointment.doctor_id == doctor.id)
        .order_by(Appointment.start_time)
    ).all()
    if booked:
        raise AppointmentConflict(
            "Appointments are booked in that time; move or cancel them first.",
            conflicts=[{"appointment_id": row.id, **time_range(row)} for row in booked],
        )
    time_off = TimeOff(
        doctor_id=doctor.id,
        start_time=start,
        end_time=end,
        reason=data.get("reason"),
        created_by=actor.user_id,
    )
    db.session.add(time_off)
    db.session.flush()
    return time_off


def remove_time_off(*, actor: Actor, doctor: Doctor, time_off_id: int) -> None:
    _require_may_change(actor, doctor)
    time_off = db.session.get(TimeOff, time_off_id)
    if time_off is None or time_off.doctor_id != doctor.id:
        raise NotFound(f"Time off {time_off_id} does not exist.")
    db.session.delete(time_off)
    db.session.flush()


def _require_may_change(actor: Actor, doctor: Doctor) -> None:
    if not (actor.role == Role.ADMIN or _is_that_doctor(actor, doctor)):
        raise Forbidden("Only an admin or the doctor changes the doctor's time off.")
