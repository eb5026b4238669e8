"""Booking, moving, status changes and archiving of appointments.

The no-overlap rule is checked here for a clear answer, and enforced by the database for
certainty: exclusion constraints on PostgreSQL, triggers on SQLite, whose write requests
also hold the write lock from their first statement (meditrack/core/sqlite.py). The
schedule locks and the overlap tests are in overlaps.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from meditrack.appointments import rules
from meditrack.appointments.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    Status,
    TimeOff,
)
from meditrack.appointments.overlaps import (
    conflicts,
    hold_patient_schedule,
    hold_schedules,
    is_overlap_violation,
    read_held,
)
from meditrack.appointments.rules import (
    AppointmentConflict,
    InvalidTransition,
    OutsideWorkingHours,
)
from meditrack.appointments.schemas import AppointmentQuery
from meditrack.core import timeutil, transaction
from meditrack.core.errors import FieldError, Forbidden, NotFound, about_patient
from meditrack.core.lookup import label_of, referenced, visible_or_404
from meditrack.core.pagination import Page, order_by, paginate
from meditrack.core.schemas import window
from meditrack.departments.models import Department
from meditrack.doctors import service as doctors_service
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.permissions import (
    STAFF,
    Actor,
    appointment_scope,
    patient_scope,
    require_admin_for_archived,
    require_role,
    sees_all_patients,
)
from meditrack.users.models import Role

LOAD = (joinedload(Appointment.patient), joinedload(Appointment.doctor))
#: A list shows only the patient's and the doctor's references (PatientRefSchema,
#: DoctorRefSchema): their other columns and their departments are left in the database.
LIST_LOAD = (
    joinedload(Appointment.patient, innerjoin=True)
    .load_only(Patient.id, Patient.first_name, Patient.last_name, Patient.mrn)
    .options(lazyload(Patient.department)),
    joinedload(Appointment.doctor, innerjoin=True)
    .load_only(Doctor.id, Doctor.first_name, Doctor.last_name, Doctor.specialization)
    .options(lazyload(Doctor.department)),
)
MOVES = frozenset({"start_time", "end_time", "duration_minutes", "doctor_id"})


# Reading ---------------------------------------------------------------------------


def list_appointments(*, actor: Actor, args: Mapping) -> Page:
    stmt = select(Appointment).options(*LIST_LOAD).where(appointment_scope(actor))
    if args.get("include_archived"):
        require_role(actor, Role.ADMIN)
    else:
        stmt = stmt.where(Appointment.archived_at.is_(None))
    for field, model, column in (
        ("patient_id", Patient, Appointment.patient_id),
        ("doctor_id", Doctor, Appointment.doctor_id),
        ("department_id", Department, Appointment.department_id),
    ):
        if args.get(field) is not None:
            # Doctors and departments are public; a patient is checked only for callers
            # who see every patient: for anyone else, a patient outside their scope and
            # one that does not exist both match nothing (200, []).
            if model is not Patient or sees_all_patients(actor):
                referenced(model, args[field], field, allow_archived=True)
            stmt = stmt.where(column == args[field])
    if args.get("status"):
        stmt = stmt.where(Appointment.status.in_([s.strip() for s in args["status"].split(",")]))
    start, end = window(args)
    if start is not None:
        stmt = stmt.where(Appointment.start_time >= start)
    if end is not None:
        stmt = stmt.where(Appointment.start_time < end)
    return paginate(
        order_by(stmt, args.get("sort"), AppointmentQuery.SORTS, "start_time", Appointment.id), args
    )


def get_appointment(
    *, actor: Actor, appointment_id: int, include_archived: bool = False
) -> Appointment:
    """The appointment if the caller may see it; otherwise 404, as if it did not exist."""
    require_admin_for_archived(actor, include_archived)
    stmt = (
        select(Appointment)
        .options(*LOAD)
        .where(Appointment.id == appointment_id, appointment_scope(actor))
    )
    return visible_or_404(Appointment, stmt, appointment_id, include_archived=include_archived)


def history(*, actor: Actor, appointment_id: int) -> list[AppointmentEvent]:
    appointment = get_appointment(actor=actor, appointment_id=appointment_id)
    return list(
        db.session.scalars(
            select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id == appointment.id)
            .order_by(AppointmentEvent.changed_at, AppointmentEvent.id)
        )
    )


# Booking and moving ------------------------------------------------------------------


def book(*, actor: Actor, data: Mapping) -> Appointment:
    patient_id = _patient_id_for_booking(actor, data.get("patient_id"))
    # Before any lock or conflict check, so that a refused booking tells nothing of the
    # patient's schedule.
    _require_in_scope(actor, patient_id)
    # Both rows read and locked at once, the doctor's first (see hold_schedules), then
    # checked in the order the errors have always been reported in.
    held_doctor = read_held(Doctor, data["doctor_id"], joinedload(Doctor.working_hours))
    patient = _found(read_held(Patient, patient_id), Patient, patient_id, "patient_id")
    doctor = _bookable(actor, data["doctor_id"], held_doctor)
    start = data["start_time"].astimezone(UTC)
    end = rules.resolve_end(
        start,
        end=_utc(data.get("end_time")),
        minutes=data.get("duration_minutes"),
        default_minutes=doctor.slot_minutes,
    )
    _check_slot(doctor, patient.id, start, end, held=True)
    appointment = Appointment(
        patient_id=patient.id,
        doctor_id=doctor.id,
        department_id=doctor.department_id,
        start_time=start,
        end_time=end,
        status=Status.SCHEDULED.value,
        reason=data.get("reason"),
        notes=data.get("notes"),
        created_by=actor.user_id,
    )
    db.session.add(appointment)
    _flush_or_conflict(appointment)
    _record(appointment, actor)
    # the relationships are view-only: filled in from the rows at hand, not loaded again
    set_committed_value(appointment, "patient", patient)
    set_committed_value(appointment, "doctor", doctor)
    return appointment


def update(*, actor: Actor, appointment: Appointment, changes: Mapping) -> Appointment:
    """Change the status, or move the appointment and edit its reason and notes."""
    if "status" in changes:
        return change_status(
            actor=actor,
            appointment=appointment,
            status=changes["status"],
            reason=changes.get("cancellation_reason"),
        )
    if actor.role == Role.PATIENT and "notes" in changes:
        raise Forbidden("Patients may not edit the notes.")
    moved = bool(MOVES & changes.keys())
    if moved:
        doctor = _move(actor, appointment, changes)
    for name in ("reason", "notes"):
        if name in changes:
            setattr(appointment, name, changes[name])
    _flush_or_conflict(appointment)
    if moved:
        # the relationship is view-only: set it, so the answer names a new doctor
        set_committed_value(appointment, "doctor", doctor)
        _record(appointment, actor)
    return appointment


def _move(actor: Actor, appointment: Appointment, changes: Mapping) -> Doctor:
    """Move the appointment (checked as a booking is); the doctor it is then with."""
    if appointment.status != Status.SCHEDULED:
        raise InvalidTransition(f"A {appointment.status} appointment cannot be moved.")
    doctor = appointment.doctor
    if "doctor_id" in changes and changes["doctor_id"] != appointment.doctor_id:
        doctor_id = changes["doctor_id"]
        if actor.role == Role.DOCTOR and doctor_id != actor.doctor_id:
            # a referral is a new booking with the colleague; this one stays the doctor's
            raise Forbidden("Doctors move appointments on their own schedule only.")
        doctor = _bookable(actor, doctor_id, db.session.get(Doctor, doctor_id))
    start = _utc(changes.get("start_time")) or appointment.start_time
    minutes = changes.get("duration_minutes")
    end = _utc(changes.get("end_time"))
    if end is None and minutes is None:
        end = start + (appointment.end_time - appointment.start_time)  # keep the length
    end = rules.resolve_end(start, end=end, minutes=minutes, default_minutes=doctor.slot_minutes)
    _check_slot(doctor, appointment.patient_id, start, end, exclude_id=appointment.id)
    appointment.doctor_id = doctor.id
    appointment.department_id = doctor.department_id
    appointment.start_time, appointment.end_time = start, end
    return doctor


def change_status(
    *, actor: Actor, appointment: Appointment, status: str, reason: str | None
) -> Appointment:
    allowed = rules.TRANSITIONS.get((appointment.status, status))
    if allowed is None:
        raise InvalidTransition(f"An appointment cannot go from {appointment.status} to {status}.")
    if actor.role not in allowed:
        raise Forbidden(f"Your role may not mark an appointment {status}.")
    if status == Status.CANCELLED and not reason:
        raise FieldError("cancellation_reason", "Say why the appointment is cancelled.")
    if status != Status.CANCELLED and reason:
        raise FieldError("cancellation_reason", "Only a cancellation has a reason.")
    if status == Status.NO_SHOW and timeutil.now() < appointment.start_time:
        raise InvalidTransition("An appointment is a no-show only after its start time.")
    appointment.status = status
    if status == Status.CANCELLED:
        appointment.cancellation_reason = reason
    db.session.flush()
    _record(appointment, actor, reason=reason)
    return appointment


def cancel_upcoming_for_patient(*, actor: Actor, patient_id: int, reason: str) -> int:
    """Cancel a patient's future active appointments (their record is being archived).

    The locks come in the order every writer takes them, so that no two transactions wait
    on each other in a cycle: the patient's row first (as a booking takes it, after its
    doctor), then the tallies of migration 0005, which each cancellation changes, in the
    order of their keys (UTC hour, department, status): one cancellation at a time, in
    that order."""
    hold_patient_schedule(patient_id)
    upcoming = db.session.scalars(
        select(Appointment).where(
            Appointment.patient_id == patient_id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.archived_at.is_(None),
            Appointment.start_time > timeutil.now(),
        )
    ).all()
    for appointment in sorted(upcoming, key=_tally_key):
        appointment.status = Status.CANCELLED.value
        appointment.cancellation_reason = reason
        _record(appointment, actor, reason=reason)
        db.session.flush()
    return len(upcoming)


def _tally_key(appointment: Appointment) -> tuple:
    hour = appointment.start_time.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour, appointment.department_id, appointment.status


# Archiving ---------------------------------------------------------------------------


def archive(*, actor: Actor, appointment: Appointment) -> None:
    require_role(actor, *STAFF)
    appointment.archive()


def restore(*, actor: Actor, appointment: Appointment) -> Appointment:
    """Bring an archived appointment back; refused if its time has since been taken."""
    require_role(actor, Role.ADMIN)
    if appointment.archived_at is not None and appointment.status in ACTIVE_STATUSES:
        hold_schedules(appointment.doctor_id, appointment.patient_id)
        clashes = conflicts(
            appointment.doctor_id,
            appointment.patient_id,
            appointment.start_time,
            appointment.end_time,
        )
        if clashes:
            raise AppointmentConflict("That time has been booked since.", conflicts=clashes)
    appointment.archived_at = None
    _flush_or_conflict(appointment)
    return appointment


# Rules that need the database ----------------------------------------------------------


def _patient_id_for_booking(actor: Actor, patient_id: int | None) -> int:
    if actor.role == Role.PATIENT:
        if actor.patient_id is None:
            raise FieldError("patient_id", "Create your patient record first (POST /patients).")
        if patient_id is not None and patient_id != actor.patient_id:
            raise Forbidden("Patients book for themselves only.")
        patient_id = actor.patient_id
    if patient_id is None:
        raise FieldError("patient_id", "Missing data for required field.")
    return patient_id


def _require_in_scope(actor: Actor, patient_id: int) -> None:
    """A doctor books only patients already in their scope (with themselves or, as a
    referral, with another doctor): booking must not be a way into a patient's record.
    Anyone else's patient answers 404, as one that does not exist, with a denied event."""
    if actor.role != Role.DOCTOR:
        return
    in_scope = db.session.scalar(
        select(Patient.id).where(
            Patient.id == patient_id, Patient.archived_at.is_(None), patient_scope(actor)
        )
    )
    if in_scope is None:
        exists = db.session.scalar(select(Patient.id).where(Patient.id == patient_id))
        raise about_patient(NotFound(f"Patient {patient_id} does not exist."), exists)


def _bookable(actor: Actor, doctor_id: int, doctor: Doctor | None) -> Doctor:
    doctor = _found(doctor, Doctor, doctor_id, "doctor_id")
    if not doctor.is_active:
        raise FieldError("doctor_id", f"Doctor {doctor_id} is not taking appointments.")
    return doctor


def _found(row, model: type, row_id: int, field: str):
    """As `referenced` answers: a missing or archived row is a 422 naming the field."""
    if row is None or row.archived_at is not None:
        raise FieldError(field, f"{label_of(model)} {row_id} does not exist.")
    return row


def _check_slot(
    doctor: Doctor,
    patient_id: int,
    start: datetime,
    end: datetime,
    *,
    exclude_id: int | None = None,
    held: bool = False,
) -> None:
    """`held`: the doctor's and the patient's rows are locked already (read_held)."""
    rules.check_start(start, timeutil.now())
    tz = timeutil.hospital_tz()
    periods = doctors_service.working_hours(doctor)
    if periods and not rules.within_working_hours(periods, start, end, tz):
        raise OutsideWorkingHours("The time is outside the doctor's working hours.")
    if not held:  # held before reading time off: adding time off takes this lock too
        hold_schedules(doctor.id, patient_id)
    off = db.session.scalar(
        select(TimeOff.id)
        .where(TimeOff.doctor_id == doctor.id, TimeOff.start_time < end, TimeOff.end_time > start)
        .limit(1)
    )
    if off is not None:
        raise OutsideWorkingHours("The doctor is off at that time.")
    clashes = conflicts(doctor.id, patient_id, start, end, exclude_id=exclude_id)
    if clashes:
        raise AppointmentConflict(
            "The doctor or the patient is already booked then.", conflicts=clashes
        )


def _flush_or_conflict(appointment: Appointment) -> None:
    """Flush; a lost race against the database's no-overlap rule is a 409.

    The failed request's transaction is rolled back whole by the request boundary (a
    savepoint cannot hold it: Session.begin_nested() flushes pending changes before its
    SAVEPOINT), and the clashing times are read after that rollback, in a fresh
    transaction, which sees the winner's committed row.
    """
    claim = (
        appointment.doctor_id,
        appointment.patient_id,
        appointment.start_time,
        appointment.end_time,
    )
    exclude_id = appointment.id
    try:
        db.session.flush()
    except IntegrityError as exc:
        if not is_overlap_violation(exc):
            raise
        conflict = AppointmentConflict("The doctor or the patient is already booked then.")

        def explain(_error: BaseException) -> None:
            conflict.extra["conflicts"] = conflicts(*claim, exclude_id=exclude_id)

        transaction.after_rollback(transaction.Step.EXPLAIN, explain)
        raise conflict from exc


def _record(appointment: Appointment, actor: Actor, *, reason: str | None = None) -> None:
    db.session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            status=appointment.status,
            start_time=appointment.start_time,
            end_time=appointment.end_time,
            reason=reason,
            changed_by=actor.user_id,
            changed_at=timeutil.now(),
        )
    )


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
