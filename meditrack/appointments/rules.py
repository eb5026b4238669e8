"""Scheduling rules that need no database: lengths, working hours, transitions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from meditrack.appointments.models import Status
from meditrack.core.errors import AppError, FieldError
from meditrack.users.models import Role

MIN_MINUTES, MAX_MINUTES = 5, 480
MAX_YEARS_AHEAD = 2


class AppointmentConflict(AppError):
    """The doctor or the patient is already busy then. Lists the clashing times only."""

    status, code = 409, "appointment_conflict"


class OutsideWorkingHours(AppError):
    status, code = 422, "outside_working_hours"

    def __init__(self, detail: str):
        super().__init__(detail, errors={"start_time": [detail]})


class InvalidTransition(AppError):
    status, code = 422, "invalid_transition"


#: (from, to) -> the roles that may make that change.
TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    (Status.SCHEDULED, Status.CHECKED_IN): frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.DOCTOR}),
    (Status.SCHEDULED, Status.CANCELLED): frozenset(Role),
    (Status.SCHEDULED, Status.NO_SHOW): frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.DOCTOR}),
    (Status.CHECKED_IN, Status.COMPLETED): frozenset({Role.ADMIN, Role.DOCTOR}),
}


def latest_start(now: datetime) -> datetime:
    """Bookings and time off start at most two years ahead."""
    try:
        return now.replace(year=now.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        return now.replace(year=now.year + MAX_YEARS_AHEAD, day=28)


def check_start(
    start: datetime, now: datetime, *, field: str = "start_time", future: bool = True
) -> None:
    if future and start <= now:
        raise FieldError(field, "The start must be in the future.")
    if start > latest_start(now):
        raise FieldError(field, f"The start can be at most {MAX_YEARS_AHEAD} years ahead.")


def resolve_end(
    start: datetime, *, end: datetime | None, minutes: int | None, default_minutes: int
) -> datetime:
    """The end from an explicit end, a length, or the doctor's slot; 5 to 480 minutes."""
    if end is None:
        end = start + timedelta(minutes=minutes or default_minutes)
    length = (end - start).total_seconds() / 60
    if not MIN_MINUTES <= length <= MAX_MINUTES:
        field = "duration_minutes" if minutes is not None else "end_time"
        raise FieldError(field, f"An appointment lasts {MIN_MINUTES} to {MAX_MINUTES} minutes.")
    return end


def period_bounds(day: date, starts_at, ends_at, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A working period on a calendar day, in hospital time, as UTC instants (DST-safe)."""
    start = datetime.combine(day, starts_at, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, ends_at, tzinfo=tz).astimezone(UTC)
    return start, end


def within_working_hours(periods: Iterable, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """True when [start, end) lies inside one working period of its day in hospital time."""
    day = start.astimezone(tz).date()
    for period in periods:
        if period.weekday != day.weekday():
            continue
        period_start, period_end = period_bounds(day, period.starts_at, period.ends_at, tz)
        if period_start <= start and end <= period_end:
            return True
    return False


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    """Half-open ranges: back-to-back appointments (end == next start) do not overlap."""
    return start < other_end and other_start < end
