"""Doctors and their weekly working hours: anyone reads, admins write."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import lazyload, load_only, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from meditrack.appointments.models import ACTIVE_STATUSES, Appointment
from meditrack.core import timeutil
from meditrack.core.errors import Duplicate, FieldError, HasDependents
from meditrack.core.lookup import get_or_404, referenced
from meditrack.core.pagination import Page, order_by, paginate, search
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor, WorkingPeriod
from meditrack.doctors.schemas import DoctorQuery
from meditrack.extensions import db
from meditrack.permissions import Actor, require_admin_for_archived, require_role
from meditrack.users.models import Role, User

SEARCHED = (
    Doctor.first_name,
    Doctor.last_name,
    Doctor.email,
    Doctor.specialization,
    Doctor.license_number,
)


def list_doctors(*, actor: Actor, args: Mapping) -> Page:
    stmt = select(Doctor).options(selectinload(Doctor.working_hours))
    if args.get("include_archived"):
        require_role(actor, Role.ADMIN)
    else:
        stmt = stmt.where(Doctor.archived_at.is_(None))
    if args.get("department_id") is not None:
        referenced(Department, args["department_id"], "department_id")
        stmt = stmt.where(Doctor.department_id == args["department_id"])
    if args.get("specialization"):
        stmt = stmt.where(func.lower(Doctor.specialization) == args["specialization"].lower())
    if args.get("is_active") is not None:
        stmt = stmt.where(Doctor.is_active == args["is_active"])
    stmt = stmt.where(*search(args.get("q"), SEARCHED))
    return paginate(
        order_by(stmt, args.get("sort"), DoctorQuery.SORTS, "last_name", Doctor.id), args
    )


def get_doctor(
    *, actor: Actor, doctor_id: int, include_archived: bool = False, with_hours: bool = False
) -> Doctor:
    """The doctor; `with_hours` for the responses that show the working hours."""
    require_admin_for_archived(actor, include_archived)
    doctor = get_or_404(Doctor, doctor_id, include_archived=include_archived)
    if with_hours:
        working_hours(doctor)
    return doctor


def create_doctor(*, actor: Actor, data: Mapping) -> Doctor:
    require_role(actor, Role.ADMIN)
    doctor = Doctor(working_hours=[])  # set, so the response needs no query for them
    _apply(doctor, data)
    db.session.add(doctor)
    db.session.flush()
    return doctor


def update_doctor(*, actor: Actor, doctor: Doctor, changes: Mapping) -> Doctor:
    require_role(actor, Role.ADMIN)
    _apply(doctor, changes)
    db.session.flush()
    return doctor


def archive_doctor(*, actor: Actor, doctor: Doctor) -> None:
    """Archive; refused while the doctor still has upcoming appointments to honour."""
    require_role(actor, Role.ADMIN)
    upcoming = db.session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.doctor_id == doctor.id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.archived_at.is_(None),
            Appointment.start_time >= timeutil.now(),
        )
    )
    if upcoming:
        raise HasDependents(
            f"The doctor has {upcoming} upcoming appointment(s); cancel or move them first."
        )
    doctor.archive()


def restore_doctor(*, actor: Actor, doctor: Doctor) -> Doctor:
    require_role(actor, Role.ADMIN)
    doctor.restore()
    return doctor


def _apply(doctor: Doctor, data: Mapping) -> None:
    """Check references and uniqueness, then copy the fields sent onto the doctor."""
    if "department_id" in data:
        # the relationship too, so the response shows the new department, not the old one
        doctor.department = referenced(Department, data["department_id"], "department_id")
    if data.get("user_id") is not None:
        _check_user_link(data["user_id"], doctor.id)
    if "email" in data:
        _ensure_free(
            func.lower(Doctor.email) == data["email"].lower(),
            doctor.id,
            "A doctor with this email already exists.",
        )
    if data.get("license_number"):
        _ensure_free(
            Doctor.license_number == data["license_number"],
            doctor.id,
            "A doctor with this licence number already exists.",
        )
    for name, value in data.items():
        if name == "working_hours":
            # in the order the database reads them back, so every response agrees
            periods = sorted(value or [], key=lambda p: (p["weekday"], p["starts_at"]))
            doctor.working_hours = [WorkingPeriod(**period) for period in periods]
        else:
            setattr(doctor, name, value)


def _check_user_link(user_id: int, own_id: int | None) -> None:
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.DOCTOR:
        raise FieldError("user_id", f"User {user_id} is not an account with the doctor role.")
    _ensure_free(Doctor.user_id == user_id, own_id, "That account is linked to another doctor.")


def _ensure_free(condition, own_id: int | None, message: str) -> None:
    stmt = select(Doctor.id).where(condition)
    if own_id is not None:
        stmt = stmt.where(Doctor.id != own_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise Duplicate(message)


def doctors_of_department(department_id: int) -> list[Doctor]:
    """The department's doctors who can take appointments (what free slots read of them)."""
    return list(
        db.session.scalars(
            select(Doctor)
            .options(
                load_only(Doctor.is_active, Doctor.archived_at, Doctor.slot_minutes),
                lazyload(Doctor.department),
            )
            .where(
                Doctor.department_id == department_id,
                Doctor.archived_at.is_(None),
                Doctor.is_active,
            )
            .order_by(Doctor.id)
        )
    )


def working_hours(doctor: Doctor) -> list[WorkingPeriod]:
    """The doctor's working hours, read now unless they were loaded with the doctor."""
    if "working_hours" in inspect(doctor).unloaded:
        periods = db.session.scalars(
            select(WorkingPeriod)
            .where(WorkingPeriod.doctor_id == doctor.id)
            .order_by(WorkingPeriod.weekday, WorkingPeriod.starts_at)
        ).all()
        set_committed_value(doctor, "working_hours", list(periods))
    return doctor.working_hours
