"""`@trail(...)` on a view records who read or changed which patient's data.

A view that succeeds records one event per patient-bound record it returns or changes,
in the request's own transaction. A view refused with 403 or 404 (a record outside the
caller's scope answers 404) records a denied event, written after the rollback.
"""

from __future__ import annotations

import functools

from sqlalchemy import select

from meditrack.appointments.models import Appointment
from meditrack.audit import service
from meditrack.audit.models import Action, Outcome
from meditrack.core.errors import Forbidden, NotFound
from meditrack.emergency.models import EmergencyAccess
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.records.models import MedicalRecord

#: resource type -> (model, name of its id in the path)
RESOURCES: dict[str, tuple[type, str]] = {
    "patient": (Patient, "patient_id"),
    "appointment": (Appointment, "appointment_id"),
    "record": (MedicalRecord, "record_id"),
    "emergency_access": (EmergencyAccess, "access_id"),
}


def subject(resource_type: str, row) -> service.Subject:
    """(resource id, patient id) of a returned row."""
    if resource_type == "patient":
        return row.id, row.id
    return row.id, row.patient_id


def subject_from_path(resource_type: str, path: dict) -> service.Subject:
    """(resource id, patient id) from the URL, looked up as the database has it."""
    model, path_id = RESOURCES[resource_type]
    resource_id = path.get(path_id)
    if resource_id is None:  # a list under a patient: /patients/<patient_id>/records
        return None, _existing_patient(path.get("patient_id"))
    if model is Patient:
        return resource_id, _existing_patient(resource_id)
    patient_id = db.session.scalar(select(model.patient_id).where(model.id == resource_id))
    return resource_id, patient_id


def _existing_patient(patient_id: int | None) -> int | None:
    if patient_id is None:
        return None
    return db.session.scalar(select(Patient.id).where(Patient.id == patient_id))


def _record_refusal(resource_type: str, action: Action, path: dict, error: Exception) -> None:
    resource_id, patient_id = subject_from_path(resource_type, path)
    if getattr(error, "audit_patient_id", None) is not None:  # see errors.about_patient
        patient_id = error.audit_patient_id
    service.record_after_failure(
        action,
        resource_type,
        resource_id=resource_id,
        patient_id=patient_id,
        outcome=Outcome.DENIED,
    )


def _record_success(resource_type: str, action: Action, result, path: dict) -> None:
    model, _ = RESOURCES[resource_type]
    rows = result[0] if isinstance(result, tuple) else result
    # Only a list action logs its rows; a read that returns a list (an appointment's
    # history, however short) is one read of the resource in the path.
    if (
        action == Action.LIST
        and isinstance(rows, list)
        and all(isinstance(row, model) for row in rows)
    ):
        service.record_many(action, resource_type, [subject(resource_type, row) for row in rows])
        return
    if isinstance(rows, model):
        resource_id, patient_id = subject(resource_type, rows)
    else:
        resource_id, patient_id = subject_from_path(resource_type, path)
    service.record(action, resource_type, resource_id=resource_id, patient_id=patient_id)


def trail(resource_type: str, action: Action):
    """Record the view's successes in its transaction, and its refusals after it."""

    def decorator(view):
        @functools.wraps(view)
        def recorded(*args, **kwargs):
            result = view(*args, **kwargs)
            _record_success(resource_type, action, result, kwargs)
            return result

        return refusals(resource_type, action)(recorded)

    return decorator


def refusals(resource_type: str, action: Action):
    """Only the denied events of a view that records its successes itself (a calendar
    feed logs each appointment it includes)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except (Forbidden, NotFound) as error:
                _record_refusal(resource_type, action, kwargs, error)
                raise

        wrapper.audited = True
        return wrapper

    return decorator
