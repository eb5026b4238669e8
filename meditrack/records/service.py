"""Medical records: doctors write them for their patients, patients read their own,
admins read and archive them, receptionists never see them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from meditrack.appointments.models import Appointment
from meditrack.core import timeutil
from meditrack.core.errors import FieldError, Forbidden
from meditrack.core.lookup import visible_or_404
from meditrack.core.pagination import Page, order_by, paginate, search
from meditrack.extensions import db
from meditrack.patients import service as patients_service
from meditrack.patients.models import Patient
from meditrack.permissions import Actor, patient_scope, require_admin_for_archived, require_role
from meditrack.records.models import MedicalRecord
from meditrack.records.schemas import RecordQuery
from meditrack.users.models import Role

SEARCHED = (MedicalRecord.diagnosis, MedicalRecord.treatment, MedicalRecord.notes)
READERS = (Role.ADMIN, Role.DOCTOR, Role.PATIENT)


def list_records(*, actor: Actor, patient_id: int, args: Mapping) -> Page:
    require_role(actor, *READERS)
    if args.get("include_archived"):
        # refused before the lookup: a 403 whether or not the patient is in scope
        require_role(actor, Role.ADMIN)
    patient = patients_service.get_patient(actor=actor, patient_id=patient_id)
    stmt = select(MedicalRecord).where(MedicalRecord.patient_id == patient.id)
    if not args.get("include_archived"):
        stmt = stmt.where(MedicalRecord.archived_at.is_(None))
    stmt = stmt.where(*search(args.get("q"), SEARCHED))
    return paginate(
        order_by(stmt, args.get("sort"), RecordQuery.SORTS, "-record_date", MedicalRecord.id), args
    )


def get_record(*, actor: Actor, record_id: int, include_archived: bool = False) -> MedicalRecord:
    """The record if the caller may see its patient; otherwise 404."""
    require_role(actor, *READERS)
    require_admin_for_archived(actor, include_archived)
    stmt = (
        select(MedicalRecord)
        .join(Patient, Patient.id == MedicalRecord.patient_id)
        .where(MedicalRecord.id == record_id, patient_scope(actor), Patient.archived_at.is_(None))
    )
    return visible_or_404(MedicalRecord, stmt, record_id, include_archived=include_archived)


def create_record(*, actor: Actor, patient_id: int, data: Mapping) -> MedicalRecord:
    _require_doctor(actor)
    patient = patients_service.get_patient(actor=actor, patient_id=patient_id)
    _check_fields(data, patient.id)
    record = MedicalRecord(
        patient_id=patient.id,
        doctor_id=actor.doctor_id,
        created_by=actor.user_id,
        record_date=data.get("record_date") or timeutil.today(),
        **{name: value for name, value in data.items() if name != "record_date"},
    )
    db.session.add(record)
    db.session.flush()
    return record


def update_record(*, actor: Actor, record: MedicalRecord, changes: Mapping) -> MedicalRecord:
    _require_author(actor, record)
    _check_fields(changes, record.patient_id)
    for name, value in changes.items():
        setattr(record, name, value)
    db.session.flush()
    return record


def archive_record(*, actor: Actor, record: MedicalRecord) -> None:
    if actor.role != Role.ADMIN:
        _require_author(actor, record)
    record.archive()


def restore_record(*, actor: Actor, record: MedicalRecord) -> MedicalRecord:
    require_role(actor, Role.ADMIN)
    record.restore()
    return record


def _require_doctor(actor: Actor) -> None:
    if actor.role != Role.DOCTOR or actor.doctor_id is None:
        raise Forbidden("Only doctors write clinical records.")


def _require_author(actor: Actor, record: MedicalRecord) -> None:
    _require_doctor(actor)
    if record.doctor_id != actor.doctor_id:
        raise Forbidden("Doctors change only the records they wrote.")


def _check_fields(data: Mapping, patient_id: int) -> None:
    if data.get("record_date") and data["record_date"] > timeutil.today():
        raise FieldError("record_date", "The record date cannot be in the future.")
    if "diagnosis" in data and not data["diagnosis"]:
        raise FieldError("diagnosis", "The diagnosis cannot be empty.")
    appointment_id = data.get("appointment_id")
    if appointment_id is not None:
        # an archived appointment is gone from the API, so it cannot be referred to
        owner = db.session.scalar(
            select(Appointment.patient_id).where(
                Appointment.id == appointment_id, Appointment.archived_at.is_(None)
            )
        )
        if owner != patient_id:
            raise FieldError(
                "appointment_id", f"Appointment {appointment_id} is not one of this patient's."
            )
