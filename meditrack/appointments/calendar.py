"""iCalendar (RFC 5545) feeds of appointments, one event per appointment not cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from icalendar import Calendar, Event
from sqlalchemy import select

from meditrack.appointments.models import Appointment, Status
from meditrack.appointments.service import LOAD
from meditrack.audit import service as audit
from meditrack.audit.models import Action
from meditrack.core.errors import Forbidden
from meditrack.core.schemas import window
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.patients import service as patients_service
from meditrack.permissions import Actor
from meditrack.users.models import Role

PRODID = "-//MediTrack//Appointments//EN"


def doctor_calendar(*, actor: Actor, doctor: Doctor, args: Mapping) -> bytes:
    if not (actor.is_staff or (actor.role == Role.DOCTOR and actor.doctor_id == doctor.id)):
        raise Forbidden("Only staff and the doctor read the doctor's calendar.")
    rows = _appointments(Appointment.doctor_id == doctor.id, args)
    name = f"Dr. {doctor.first_name} {doctor.last_name}"
    return _render(
        rows,
        name,
        lambda row: (
            f"Appointment: {row.patient.first_name} {row.patient.last_name} (MRN {row.patient.mrn})"
        ),
    )


def patient_calendar(*, actor: Actor, patient_id: int, args: Mapping) -> bytes:
    """Staff and the patient (another patient's is 404); doctors never get this feed."""
    if not (actor.is_staff or actor.role == Role.PATIENT):
        raise Forbidden("Only staff and the patient read the patient's calendar.")
    patient = patients_service.get_patient(actor=actor, patient_id=patient_id)
    rows = _appointments(Appointment.patient_id == patient.id, args)
    name = f"{patient.first_name} {patient.last_name}"
    return _render(
        rows,
        name,
        lambda row: (
            f"Appointment with Dr. {row.doctor.first_name} {row.doctor.last_name}"
            f" ({row.doctor.specialization})"
        ),
    )


def _appointments(condition, args: Mapping) -> list[Appointment]:
    stmt = (
        select(Appointment)
        .options(*LOAD)
        .where(condition, Appointment.archived_at.is_(None), Appointment.status != Status.CANCELLED)
        .order_by(Appointment.start_time, Appointment.id)
    )
    start, end = window(args)
    if start is not None:
        stmt = stmt.where(Appointment.start_time >= start)
    if end is not None:
        stmt = stmt.where(Appointment.start_time < end)
    rows = list(db.session.scalars(stmt))
    audit.record_many(Action.LIST, "appointment", [(row.id, row.patient_id) for row in rows])
    return rows


def _render(rows: list[Appointment], name: str, summary) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"MediTrack: {name}")
    for row in rows:
        event = Event()
        event.add("uid", f"appointment-{row.id}@meditrack")
        event.add("dtstamp", row.updated_at.astimezone(UTC))
        event.add("dtstart", row.start_time.astimezone(UTC))
        event.add("dtend", row.end_time.astimezone(UTC))
        event.add("summary", summary(row))
        event.add("status", "CONFIRMED")
        event.add("x-meditrack-status", row.status)
        if row.reason:
            event.add("description", row.reason)
        calendar.add_component(event)
    return calendar.to_ical()
