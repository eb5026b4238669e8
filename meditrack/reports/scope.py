"""What a report covers: who may run it, over which days, narrowed to which department or
doctor. Its own module, so that the service and the tallies both read it without
importing each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from meditrack.core import timeutil
from meditrack.core.errors import Forbidden
from meditrack.core.lookup import referenced
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor
from meditrack.permissions import STAFF, Actor, require_role
from meditrack.reports.schemas import DEFAULT_DAYS
from meditrack.users.models import Role


@dataclass(frozen=True)
class Window:
    first: date
    last: date
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Scope:
    window: Window
    department_id: int | None
    doctor_id: int | None


def covered(*, actor: Actor, args: Mapping, report: str) -> Scope:
    """Who may run the report, over which days and filters."""
    if actor.role == Role.DOCTOR and report in ("doctors", "daily"):
        if actor.doctor_id is None:
            raise Forbidden("Your account is not linked to a doctor.")
        if args.get("doctor_id") not in (None, actor.doctor_id):
            raise Forbidden("Doctors see their own figures only.")
        args = {**args, "doctor_id": actor.doctor_id}
    else:
        require_role(actor, *STAFF)
    if args.get("department_id") is not None:
        referenced(Department, args["department_id"], "department_id")
    if args.get("doctor_id") is not None:
        referenced(Doctor, args["doctor_id"], "doctor_id", allow_archived=True)
    last = args.get("end") or timeutil.today()
    first = args.get("start") or last - timedelta(days=DEFAULT_DAYS - 1)
    window = Window(first, last, timeutil.day_bounds(first)[0], timeutil.day_bounds(last)[1])
    return Scope(window, args.get("department_id"), args.get("doctor_id"))
