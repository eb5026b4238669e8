"""The five reports, aggregated by the database.

Appointments count in a range by their start date in hospital time; archived rows are
left out. Available minutes come from the doctors' weekly working hours laid over the
range in hospital time (DST days included), less their time off: rules, not rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import selectinload

from meditrack.appointments.models import Appointment, Status, TimeOff
from meditrack.appointments.rules import period_bounds
from meditrack.core import timeutil
from meditrack.core.errors import Forbidden
from meditrack.core.lookup import referenced
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.patients.models import GENDERS, Patient
from meditrack.permissions import STAFF, Actor, require_role
from meditrack.reports.schemas import DEFAULT_DAYS
from meditrack.reports.sql import as_date, local_date, minutes_between, next_day
from meditrack.users.models import Role

AGE_BANDS = (("0-17", 18), ("18-34", 35), ("35-49", 50), ("50-64", 65), ("65+", None))
STATUSES = [status.value for status in Status]


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


def scope(*, actor: Actor, args: Mapping, report: str) -> Scope:
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


# Building blocks -------------------------------------------------------------------------


def _in_scope(scope: Scope) -> list:
    conditions = [
        Appointment.archived_at.is_(None),
        Appointment.start_time >= scope.window.start,
        Appointment.start_time < scope.window.end,
    ]
    if scope.department_id is not None:
        conditions.append(Appointment.department_id == scope.department_id)
    if scope.doctor_id is not None:
        conditions.append(Appointment.doctor_id == scope.doctor_id)
    return conditions


def _status_counts() -> list:
    counts = [func.count(Appointment.id).label("total")]
    counts += [
        func.count(Appointment.id).filter(Appointment.status == status).label(status)
        for status in STATUSES
    ]
    return counts


def _booked_minutes():
    """Minutes of appointments that hold time (all but cancelled ones)."""
    return func.coalesce(
        func.sum(minutes_between(Appointment.start_time, Appointment.end_time)).filter(
            Appointment.status != Status.CANCELLED.value
        ),
        0,
    )


def rate(numerator: int | float, denominator: int | float) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


def available_minutes(doctors: list[Doctor], window: Window) -> dict[int, int]:
    """Working minutes of each doctor over the window, less time off."""
    tz = timeutil.hospital_tz()
    spells: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    if doctors:
        rows = db.session.execute(
            select(TimeOff.doctor_id, TimeOff.start_time, TimeOff.end_time).where(
                TimeOff.doctor_id.in_([d.id for d in doctors]),
                TimeOff.start_time < window.end,
                TimeOff.end_time > window.start,
            )
        )
        for doctor_id, start, end in rows:
            spells[doctor_id].append((start, end))
    # Spells of time off may overlap: each minute is taken off once.
    off = {doctor_id: _merged(found) for doctor_id, found in spells.items()}
    minutes: dict[int, int] = {}
    for doctor in doctors:
        total = 0.0
        for offset in range(window.days):
            day = window.first + timedelta(days=offset)
            for period in doctor.working_hours:
                if period.weekday != day.weekday():
                    continue
                start, end = period_bounds(day, period.starts_at, period.ends_at, tz)
                total += (end - start).total_seconds() / 60
                for off_start, off_end in off.get(doctor.id, ()):
                    overlap = min(end, off_end) - max(start, off_start)
                    total -= max(overlap.total_seconds() / 60, 0)
        minutes[doctor.id] = round(total)
    return minutes


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching spans of time off joined, so no minute is taken off twice."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _doctors(scope: Scope) -> list[Doctor]:
    stmt = (
        select(Doctor)
        .options(selectinload(Doctor.working_hours))
        .where(Doctor.archived_at.is_(None))
    )
    if scope.department_id is not None:
        stmt = stmt.where(Doctor.department_id == scope.department_id)
    if scope.doctor_id is not None:
        stmt = stmt.where(Doctor.id == scope.doctor_id)
    return list(db.session.scalars(stmt.order_by(Doctor.last_name, Doctor.id)))


# Reports ---------------------------------------------------------------------------------


def overview(scope: Scope) -> dict:
    window = scope.window
    row = db.session.execute(
        select(
            *_status_counts(),
            _booked_minutes().label("booked"),
            func.avg(minutes_between(Appointment.created_at, Appointment.start_time)).label(
                "lead_minutes"
            ),
        ).where(*_in_scope(scope))
    ).one()
    patients = select(func.count(Patient.id)).where(Patient.archived_at.is_(None))
    if scope.department_id is not None:
        patients = patients.where(Patient.department_id == scope.department_id)
    new_patients = patients.where(
        Patient.created_at >= window.start, Patient.created_at < window.end
    )
    doctors = _doctors(scope)
    departments = select(func.count(Department.id))
    if scope.department_id is not None:
        departments = departments.where(Department.id == scope.department_id)
    available = sum(available_minutes(doctors, window).values())
    counts = {status: getattr(row, status) for status in STATUSES}
    return {
        "from": window.first,
        "to": window.last,
        "patients_total": db.session.scalar(patients),
        "patients_new": db.session.scalar(new_patients),
        "doctors_active": sum(1 for doctor in doctors if doctor.is_active),
        "departments": db.session.scalar(departments),
        "appointments": {"total": row.total, **counts},
        "no_show_rate": rate(row.no_show, row.completed + row.no_show),
        "cancellation_rate": rate(row.cancelled, row.total),
        "utilization": rate(row.booked, available),
        "avg_lead_time_days": None
        if row.lead_minutes is None
        else round(row.lead_minutes / 1440, 2),
    }


def _workload(group_column, scope: Scope) -> dict[int, dict]:
    rows = db.session.execute(
        select(
            group_column.label("key"),
            *_status_counts(),
            _booked_minutes().label("booked"),
            func.count(func.distinct(Appointment.patient_id)).label("patients"),
        )
        .where(*_in_scope(scope))
        .group_by(group_column)
    )
    return {row.key: row._asdict() for row in rows}


def _workload_figures(figures: Mapping | None, available: int) -> dict:
    figures = figures or {}
    completed, no_show = figures.get("completed", 0), figures.get("no_show", 0)
    booked = round(figures.get("booked") or 0)
    return {
        "appointments": figures.get("total", 0),
        "completed": completed,
        "cancelled": figures.get("cancelled", 0),
        "no_show": no_show,
        "no_show_rate": rate(no_show, completed + no_show),
        "booked_minutes": booked,
        "available_minutes": available,
        "utilization": rate(booked, available),
    }


def departments(scope: Scope) -> list[dict]:
    stmt = select(Department).order_by(func.lower(Department.name), Department.id)
    if scope.department_id is not None:
        stmt = stmt.where(Department.id == scope.department_id)
    rows = list(db.session.scalars(stmt))
    workload = _workload(Appointment.department_id, scope)
    doctors = _doctors(scope)
    available = available_minutes(doctors, scope.window)
    doctor_counts: dict[int, int] = defaultdict(int)
    available_by_department: dict[int, int] = defaultdict(int)
    for doctor in doctors:
        doctor_counts[doctor.department_id] += 1
        available_by_department[doctor.department_id] += available[doctor.id]
    patient_counts = dict(
        db.session.execute(
            select(Patient.department_id, func.count(Patient.id))
            .where(Patient.archived_at.is_(None), Patient.department_id.is_not(None))
            .group_by(Patient.department_id)
        ).all()
    )
    return [
        {
            "department_id": department.id,
            "name": department.name,
            "doctors": doctor_counts[department.id],
            "patients": patient_counts.get(department.id, 0),
            **_workload_figures(
                workload.get(department.id), available_by_department[department.id]
            ),
        }
        for department in rows
    ]


def doctors(scope: Scope) -> list[dict]:
    doctor_rows = _doctors(scope)
    workload = _workload(Appointment.doctor_id, scope)
    available = available_minutes(doctor_rows, scope.window)
    return [
        {
            "doctor_id": doctor.id,
            "name": f"{doctor.first_name} {doctor.last_name}",
            "department_id": doctor.department_id,
            **_workload_figures(workload.get(doctor.id), available[doctor.id]),
            "unique_patients": (workload.get(doctor.id) or {}).get("patients", 0),
        }
        for doctor in doctor_rows
    ]


def daily(scope: Scope) -> list[dict]:
    """One row per day of the range, zeros included: a date series joined to the counts."""
    window = scope.window
    series = select(literal(window.first).label("day")).cte("days", recursive=True)
    series = series.union_all(select(next_day(series.c.day)).where(series.c.day < window.last))
    day = local_date(Appointment.start_time, timeutil.hospital_tz(), window.start, window.end)
    counts = (
        select(day.label("day"), *_status_counts())
        .where(*_in_scope(scope))
        .group_by(day)
        .subquery("counts")
    )
    columns = ["total", *STATUSES]
    rows = db.session.execute(
        select(series.c.day, *(func.coalesce(counts.c[name], 0).label(name) for name in columns))
        .select_from(series)
        .outerjoin(counts, counts.c.day == series.c.day)
        .order_by(series.c.day)
    )
    return [
        {"date": as_date(row.day), **{name: getattr(row, name) for name in columns}} for row in rows
    ]


def demographics(scope: Scope) -> list[dict]:
    """Active patients by age band on the last day of the range, and by gender."""
    on = scope.window.last
    band = case(
        *[
            (Patient.date_of_birth > _years_before(on, years), label)
            for label, years in AGE_BANDS
            if years is not None
        ],
        else_=AGE_BANDS[-1][0],
    )
    stmt = (
        select(band.label("band"), Patient.gender, func.count(Patient.id))
        .where(Patient.archived_at.is_(None), Patient.date_of_birth <= on)
        .group_by(band, Patient.gender)
    )
    if scope.department_id is not None:
        stmt = stmt.where(Patient.department_id == scope.department_id)
    counts = {(band_label, gender): count for band_label, gender, count in db.session.execute(stmt)}
    rows = []
    for label, _ in AGE_BANDS:
        row = {"age_band": label, **{gender: counts.get((label, gender), 0) for gender in GENDERS}}
        row["total"] = sum(row[gender] for gender in GENDERS)
        rows.append(row)
    return rows


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
