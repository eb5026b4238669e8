"""Who may do what, and who sees which patient: the one place services ask."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import ColumnElement, false, select, true

from meditrack.appointments.models import Appointment
from meditrack.core.errors import Forbidden, Unauthorized
from meditrack.patients.models import Patient
from meditrack.users.models import Role

STAFF = frozenset({Role.ADMIN, Role.RECEPTIONIST})


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, re-read from the database on every request."""

    user_id: int
    role: Role
    session_id: str
    doctor_id: int | None = None
    patient_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def current_actor() -> Actor:
    actor = g.get("actor")
    if actor is None:
        raise Unauthorized("Sign in first.")
    return actor


def optional_actor() -> Actor | None:
    return g.get("actor")


def require_role(actor: Actor, *roles: Role) -> None:
    """A role that may never do an action is refused with 403."""
    if actor.role not in roles:
        raise Forbidden("Your role may not do this.")


def patient_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Patient: staff see all, a doctor their patients, a patient theirs."""
    if actor.is_staff:
        return true()
    if actor.role == Role.DOCTOR and actor.doctor_id is not None:
        booked_with_me = select(Appointment.patient_id).where(
            Appointment.doctor_id == actor.doctor_id, Appointment.archived_at.is_(None)
        )
        return Patient.id.in_(booked_with_me)
    if actor.role == Role.PATIENT:
        return Patient.user_id == actor.user_id
    return false()


def appointment_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Appointment: staff all, a doctor their own, a patient theirs."""
    if actor.is_staff:
        return true()
    if actor.role == Role.DOCTOR and actor.doctor_id is not None:
        return Appointment.doctor_id == actor.doctor_id
    if actor.role == Role.PATIENT and actor.patient_id is not None:
        return Appointment.patient_id == actor.patient_id
    return false()
