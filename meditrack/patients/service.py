"""Patients, seen through the caller's scope: what is out of scope does not exist."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from meditrack.appointments import service as appointments_service
from meditrack.audit import service as audit
from meditrack.audit.models import Action
from meditrack.core.errors import Duplicate, FieldError, Forbidden
from meditrack.core.lookup import referenced, visible_or_404
from meditrack.core.pagination import (
    Page,
    order_by,
    paginate,
    paginate_matches,
    search_in,
    words,
)
from meditrack.departments.models import Department
from meditrack.extensions import db
from meditrack.patients.models import Patient, PatientTotals, search_text
from meditrack.patients.schemas import PatientQuery
from meditrack.permissions import (
    STAFF,
    Actor,
    patient_scope,
    require_admin_for_archived,
    require_role,
)
from meditrack.users.models import Role, User

#: Fields each role may change on a patient it can see.
EDITABLE = {
    Role.DOCTOR: frozenset({"blood_type", "allergies"}),
    Role.PATIENT: frozenset(
        {"email", "phone", "address", "emergency_contact_name", "emergency_contact_phone"}
    ),
}
ARCHIVE_CANCELLATION = "The patient's record was archived."


def list_patients(*, actor: Actor, args: Mapping) -> Page:
    include_archived = bool(args.get("include_archived"))
    if include_archived:
        require_role(actor, Role.ADMIN)
    conditions = [patient_scope(actor)]
    if not include_archived:
        conditions.append(Patient.archived_at.is_(None))
    unfiltered = len(conditions)  # every filter below adds a condition
    if args.get("department_id") is not None:
        referenced(Department, args["department_id"], "department_id")
        conditions.append(Patient.department_id == args["department_id"])
    if args.get("date_of_birth"):
        conditions.append(Patient.date_of_birth == args["date_of_birth"])
    if args.get("gender"):
        conditions.append(Patient.gender == args["gender"])
    conditions += search_in(args.get("q"), search_text())
    sort = (PatientQuery.SORTS, "last_name")
    if words(args.get("q")):
        return paginate_matches(Patient, conditions, args, *sort)
    total = None
    if actor.is_staff and len(conditions) == unfiltered:
        total = _kept_total(include_archived)
    ordered = order_by(select(Patient).where(*conditions), args.get("sort"), *sort, Patient.id)
    return paginate(ordered, args, total=total, key=Patient.id)


def _kept_total(include_archived: bool) -> int | None:
    """The number of (active) patients from the row the database keeps; None if missing."""
    column = PatientTotals.total if include_archived else PatientTotals.active
    return db.session.scalar(select(column).where(PatientTotals.id == 1))


def get_patient(*, actor: Actor, patient_id: int, include_archived: bool = False) -> Patient:
    """The patient if the caller may see it; otherwise 404, exactly as if it did not exist."""
    require_admin_for_archived(actor, include_archived)
    stmt = select(Patient).where(Patient.id == patient_id, patient_scope(actor))
    return visible_or_404(Patient, stmt, patient_id, include_archived=include_archived)


def create_patient(*, actor: Actor, data: Mapping) -> Patient:
    """Staff register anyone; a patient account registers its own record, once."""
    data = dict(data)
    if actor.role == Role.PATIENT:
        if {"department_id", "user_id"} & data.keys():
            raise Forbidden("Patients cannot set department_id or user_id.")
        if _linked_patient(actor.user_id) is not None:
            raise Duplicate("Your account already has a patient record.")
        data["user_id"] = actor.user_id
    else:
        require_role(actor, *STAFF)
        if "user_id" in data:
            _require_linker(actor)
    _check_references(data)
    patient = Patient(**data)
    _insert_with_mrn(patient)
    if patient.user_id is not None:
        _record_link(actor, patient, None)
    return patient


def update_patient(*, actor: Actor, patient: Patient, changes: Mapping) -> Patient:
    if not actor.is_staff:
        allowed = EDITABLE.get(actor.role, frozenset())
        refused = sorted(set(changes) - allowed)
        if refused:
            raise Forbidden(f"Your role may not change: {', '.join(refused)}.")
    changes = dict(changes)
    if "user_id" in changes:
        _require_linker(actor)
        if changes["user_id"] == patient.user_id:
            del changes["user_id"]  # the link it has already: nothing changes
    _check_references(changes)
    old_user_id = patient.user_id
    for name, value in changes.items():
        setattr(patient, name, value)
    db.session.flush()
    if "user_id" in changes:
        _record_link(actor, patient, old_user_id)
    if "department_id" in changes:
        # reloaded from the new id, so the response shows the new department, not the old one
        db.session.expire(patient, ["department"])
    return patient


def archive_patient(*, actor: Actor, patient: Patient) -> None:
    """Archive the record and cancel the patient's upcoming appointments."""
    require_role(actor, *STAFF)
    appointments_service.cancel_upcoming_for_patient(
        actor=actor, patient_id=patient.id, reason=ARCHIVE_CANCELLATION
    )
    patient.archive()


def restore_patient(*, actor: Actor, patient: Patient) -> Patient:
    require_role(actor, Role.ADMIN)
    patient.restore()
    return patient


def _linked_patient(user_id: int) -> Patient | None:
    return db.session.scalar(select(Patient).where(Patient.user_id == user_id))


def _require_linker(actor: Actor) -> None:
    """Whoever sets a record's account reads it as that account's owner: linking and
    unlinking are an admin's alone (a receptionist could otherwise take a patient over)."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins link or unlink a patient's account (user_id).")


def _check_references(data: Mapping) -> None:
    if data.get("department_id") is not None:
        referenced(Department, data["department_id"], "department_id")
    if data.get("user_id") is not None:
        user_id = data["user_id"]
        user = db.session.get(User, user_id)
        if user is None or user.role != Role.PATIENT or not user.is_active:
            raise FieldError("user_id", f"User {user_id} is not an active patient account.")
        if _linked_patient(user_id) is not None:
            raise FieldError("user_id", f"User {user_id} is linked to a patient record already.")


def _record_link(actor: Actor, patient: Patient, old_user_id: int | None) -> None:
    """The change of account, old and new, in its own event: who may act as this patient."""
    audit.record(
        Action.UPDATE,
        "patient",
        resource_id=patient.id,
        patient_id=patient.id,
        who=actor,
        details={"user_id": [old_user_id, patient.user_id]},
    )


def new_mrn() -> str:
    """Nine random digits and a Luhn check digit, so a mistyped MRN is caught."""
    digits = f"{secrets.randbelow(10**9):09d}"
    return digits + str(luhn_check_digit(digits))


def luhn_check_digit(digits: str) -> int:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def _insert_with_mrn(patient: Patient, attempts: int = 5) -> None:
    """MRNs are random; a collision (rare) is retried inside a savepoint."""
    for attempt in range(attempts):
        patient.mrn = new_mrn()
        try:
            with db.session.begin_nested():
                db.session.add(patient)
                db.session.flush()
            return
        except IntegrityError as exc:
            if "mrn" not in str(exc.orig).lower() or attempt == attempts - 1:
                raise
