"""The appointments a report counts, as rows of (at, department_id, status, appointments,
duration_us, lead_us): the hourly tallies for the whole UTC hours of the window, the
appointments themselves for the parts of an hour at its edges (a hospital day in a zone
with a half-hour offset starts mid-hour). Filtered by doctor, a report reads appointments
only: the tallies have no doctor, and a doctor's year is a few thousand rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Subquery, and_, literal, or_, select, union_all

from meditrack.appointments.models import Appointment
from meditrack.core import timeutil
from meditrack.reports.models import AppointmentTally
from meditrack.reports.scope import Scope
from meditrack.reports.sql import micros_between

HOUR = timedelta(hours=1)


def counted(scope: Scope, *, by_day: bool = False) -> Subquery:
    """What `scope` counts. `by_day`: each row must fall within one hospital day, so
    tallies are read only when every midnight of the window is on the hour."""
    window = scope.window
    first_hour, last_hour = _ceil_hour(window.start), _floor_hour(window.end)
    use_tallies = scope.doctor_id is None and first_hour < last_hour
    if by_day and use_tallies:
        use_tallies = _midnights_on_the_hour(scope)
    if not use_tallies:
        first_hour = last_hour = window.end
    start = Appointment.start_time
    raw = select(
        start.label("at"),
        Appointment.department_id,
        Appointment.status,
        literal(1).label("appointments"),
        micros_between(start, Appointment.end_time).label("duration_us"),
        micros_between(Appointment.created_at, start).label("lead_us"),
    ).where(
        Appointment.archived_at.is_(None),
        or_(
            and_(start >= window.start, start < first_hour),
            and_(start >= last_hour, start < window.end),
        ),
    )
    if scope.department_id is not None:
        raw = raw.where(Appointment.department_id == scope.department_id)
    if scope.doctor_id is not None:
        raw = raw.where(Appointment.doctor_id == scope.doctor_id)
    if not use_tallies:
        return raw.subquery("counted")
    tallied = select(
        AppointmentTally.hour.label("at"),
        AppointmentTally.department_id,
        AppointmentTally.status,
        AppointmentTally.appointments,
        AppointmentTally.duration_us,
        AppointmentTally.lead_us,
    ).where(AppointmentTally.hour >= first_hour, AppointmentTally.hour < last_hour)
    if scope.department_id is not None:
        tallied = tallied.where(AppointmentTally.department_id == scope.department_id)
    return union_all(tallied, raw).subquery("counted")


def _floor_hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(instant: datetime) -> datetime:
    floor = _floor_hour(instant)
    return floor if floor == instant else floor + HOUR


def _midnights_on_the_hour(scope: Scope) -> bool:
    tz = timeutil.hospital_tz()
    window = scope.window
    for offset in range(window.days + 1):
        day = window.first + timedelta(days=offset)
        midnight = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
        if midnight != _floor_hour(midnight):
            return False
    return True
