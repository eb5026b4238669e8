"""The five reports, aggregated by the database.

Appointments count in a range by their start date in hospital time; archived rows are
left out. Hospital-wide and per-department figures are summed from the hourly tallies that
triggers keep (reports/tallies.py); per-doctor ones, which count distinct patients, from
the appointments. Available minutes come from the doctors' weekly working hours laid over
the range in hospital time (DST days included), less their time off: rules, not rows
(reports/available.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import selectinload

from meditrack.appointments.models import Appointment, Status
from meditrack.core import timeutil
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor
from meditrack.extensions import db
from meditrack.patients.models import GENDERS, Patient
from meditrack.reports import tallies
from meditrack.reports.available import available_minutes
from meditrack.reports.scope import Scope
from meditrack.reports.sql import as_date, exact_sum, local_date, next_day, summed_micros

AGE_BANDS = (("0-17", 18), ("18-34", 35), ("35-49", 50), ("50-64", 65), ("65+", None))
STATUSES = [status.value for status in Status]


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


def _status_counts(counted) -> list:
    """Appointments in all, and in each status, over rows of `tallies.counted`."""
    counts = [func.coalesce(func.sum(counted.c.appointments), 0).label("total")]
    counts += [
        func.coalesce(func.sum(counted.c.appointments).filter(counted.c.status == status), 0).label(
            status
        )
        for status in STATUSES
    ]
    return counts


def _appointment_counts() -> list:
    """The same, straight from the appointments."""
    counts = [func.count(Appointment.id).label("total")]
    counts += [
        func.count(Appointment.id).filter(Appointment.status == status).label(status)
        for status in STATUSES
    ]
    return counts


def _booked_micros(counted):
    """Microseconds of appointments that hold time (all but cancelled ones)."""
    return exact_sum(counted.c.duration_us).filter(counted.c.status != Status.CANCELLED.value)


def _minutes(micros: Decimal | float | None) -> Decimal | float:
    """Microseconds as minutes: exact numeric on PostgreSQL, float on SQLite."""
    return (micros or 0) / 60_000_000


def rate(numerator: int | float, denominator: int | float) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


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
    counted = tallies.counted(scope)
    row = db.session.execute(
        select(
            *_status_counts(counted),
            _booked_micros(counted).label("booked"),
            exact_sum(counted.c.lead_us).label("lead"),
        )
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
    available = sum(available_minutes(doctors, window.first, window.last).values())
    counts = {status: getattr(row, status) for status in STATUSES}
    lead_minutes = _minutes(row.lead) / row.total if row.total else None
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
        "utilization": rate(float(_minutes(row.booked)), available),
        "avg_lead_time_days": None if lead_minutes is None else round(lead_minutes / 1440, 2),
    }


def _department_workload(scope: Scope) -> dict[int, dict]:
    """From the tallies: counts by status and booked time, per department."""
    counted = tallies.counted(scope)
    rows = db.session.execute(
        select(
            counted.c.department_id.label("key"),
            *_status_counts(counted),
            _booked_micros(counted).label("booked"),
        ).group_by(counted.c.department_id)
    )
    return {row.key: row._asdict() for row in rows}


def _doctor_workload(scope: Scope) -> dict[int, dict]:
    """From the appointments: distinct patients cannot be summed from tallies."""
    booked = summed_micros(
        Appointment.start_time, Appointment.end_time, Appointment.status != Status.CANCELLED.value
    )
    rows = db.session.execute(
        select(
            Appointment.doctor_id.label("key"),
            *_appointment_counts(),
            booked.label("booked"),
            func.count(func.distinct(Appointment.patient_id)).label("patients"),
        )
        .where(*_in_scope(scope))
        .group_by(Appointment.doctor_id)
    )
    return {row.key: row._asdict() for row in rows}


def _workload_figures(figures: Mapping | None, available: int) -> dict:
    figures = figures or {}
    completed, no_show = figures.get("completed", 0), figures.get("no_show", 0)
    booked = round(_minutes(figures.get("booked")))
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
    workload = _department_workload(scope)
    doctors = _doctors(scope)
    available = available_minutes(doctors, scope.window.first, scope.window.last)
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
    workload = _doctor_workload(scope)
    available = available_minutes(doctor_rows, scope.window.first, scope.window.last)
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
    counted = tallies.counted(scope, by_day=True)
    day = local_date(counted.c.at, timeutil.hospital_tz(), window.start, window.end)
    counts = select(day.label("day"), *_status_counts(counted)).group_by(day).subquery("counts")
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
    stmt = (
        select(Patient.gender, *_band_counts(on))
        .where(Patient.archived_at.is_(None), Patient.date_of_birth <= on)
        .group_by(Patient.gender)
    )
    if scope.department_id is not None:
        stmt = stmt.where(Patient.department_id == scope.department_id)
    counts = {row.gender: row._asdict() for row in db.session.execute(stmt)}
    rows = []
    for label, _ in AGE_BANDS:
        row = {"age_band": label}
        row.update({gender: counts.get(gender, {}).get(label, 0) for gender in GENDERS})
        row["total"] = sum(row[gender] for gender in GENDERS)
        rows.append(row)
    return rows


def _band_counts(on: date) -> list:
    """One count per age band on `on`: born after the band's cut and no later than the
    cut of the band before it. A few comparisons a row, grouped by gender only."""
    born = Patient.date_of_birth
    cuts = [_years_before(on, years) for _, years in AGE_BANDS if years is not None]
    counts = []
    for index, (label, _) in enumerate(AGE_BANDS):
        conditions = []
        if index < len(cuts):
            conditions.append(born > cuts[index])
        if index > 0:
            conditions.append(born <= cuts[index - 1])
        counts.append(func.count(Patient.id).filter(and_(*conditions)).label(label))
    return counts


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
