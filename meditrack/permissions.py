"""Who may do what, and who sees which patient: the one place services ask."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import ColumnElement, false, or_, select, true

from meditrack.appointments.models import Appointment, Status
from meditrack.core import timeutil
from meditrack.core.errors import Forbidden, Unauthorized
from meditrack.emergency.models import EmergencyAccess
from meditrack.patients.models import Patient
from meditrack.records.models import MedicalRecord
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


def require_admin_for_archived(actor: Actor, include_archived: bool) -> None:
    """Archived rows are for admins only: asking for them is 403 for anyone else."""
    if include_archived:
        require_role(actor, Role.ADMIN)


def patient_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Patient: staff see all, a doctor their patients, a patient theirs.

    A doctor's patients are those with an appointment with them that is neither cancelled
    nor archived, those with a medical record they wrote that is not archived, and those
    under their active emergency access. Nothing else brings a patient in: a doctor cannot
    widen their own scope by booking (appointments.service.book asks this first)."""
    if actor.is_staff:
        return true()
    if actor.role == Role.DOCTOR and actor.doctor_id is not None:
        booked_with_me = select(Appointment.patient_id).where(
            Appointment.doctor_id == actor.doctor_id,
            Appointment.status != Status.CANCELLED,
            Appointment.archived_at.is_(None),
        )
        written_by_me = select(MedicalRecord.patient_id).where(
            MedicalRecord.doctor_id == actor.doctor_id, MedicalRecord.archived_at.is_(None)
        )
        return or_(
            Patient.id.in_(booked_with_me),
            Patient.id.in_(written_by_me),
            Patient.id.in_(active_emergency_access(actor.doctor_id, EmergencyAccess.patient_id)),
        )
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


def active_emergency_access(doctor_id: int, *columns):
    """SELECT `columns` of the doctor's grants open now: started, not expired, not ended."""
    moment = timeutil.now()
    return select(*columns).where(
        EmergencyAccess.doctor_id == doctor_id,
        EmergencyAccess.ended_at.is_(None),
        EmergencyAccess.starts_at <= moment,
        EmergencyAccess.expires_at > moment,
    )


def sees_all_patients(actor: Actor) -> bool:
    """Staff see every patient; for anyone else a patient outside their scope and one that
    does not exist must look the same (no existence oracle)."""
    return actor.is_staff
