"""Departments: anyone reads, admins write, only empty ones are deleted."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import exists, func, select
from sqlalchemy.orm import undefer

from meditrack.appointments.models import Appointment
from meditrack.core.errors import Duplicate, HasDependents
from meditrack.core.lookup import get_or_404
from meditrack.core.pagination import Page, order_by, paginate, search
from meditrack.departments.models import Department
from meditrack.departments.schemas import DepartmentQuery
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.permissions import Actor, require_role
from meditrack.users.models import Role

# Names sort case-insensitively, the same on every database (and served by the
# lower(name) unique index).
WITH_COUNTS = (undefer(Department.doctor_count), undefer(Department.patient_count))
SEARCHED = (Department.name, Department.description, Department.location)


def list_departments(*, args: Mapping) -> Page:
    stmt = select(Department).options(*WITH_COUNTS)
    stmt = stmt.where(*search(args.get("q"), SEARCHED))
    return paginate(
        order_by(stmt, args.get("sort"), DepartmentQuery.SORTS, "name", Department.id), args
    )


def get_department(*, department_id: int) -> Department:
    return get_or_404(Department, department_id)


def create_department(*, actor: Actor, data: Mapping) -> Department:
    require_role(actor, Role.ADMIN)
    _ensure_name_free(data["name"])
    department = Department(**data)
    db.session.add(department)
    db.session.flush()
    return department


def update_department(*, actor: Actor, department: Department, changes: Mapping) -> Department:
    require_role(actor, Role.ADMIN)
    if "name" in changes:
        _ensure_name_free(changes["name"], department.id)
    for name, value in changes.items():
        setattr(department, name, value)
    db.session.flush()
    return department


def delete_department(*, actor: Actor, department: Department) -> None:
    """Really deletes, and only a department nothing points at (archived rows count)."""
    require_role(actor, Role.ADMIN)
    in_use = db.session.scalar(
        select(
            exists().where(Doctor.department_id == department.id)
            | exists().where(Patient.department_id == department.id)
            | exists().where(Appointment.department_id == department.id)
        )
    )
    if in_use:
        raise HasDependents("The department still has doctors, patients or appointments.")
    db.session.delete(department)
    db.session.flush()


def _ensure_name_free(name: str, own_id: int | None = None) -> None:
    stmt = select(Department.id).where(func.lower(Department.name) == name.lower())
    if own_id is not None:
        stmt = stmt.where(Department.id != own_id)
    if db.session.scalar(stmt) is not None:
        raise Duplicate(f"A department named {name!r} already exists.")
