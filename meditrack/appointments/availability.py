"""Free slots, computed from the rules: working hours, time off, booked time and now.

No slot rows are stored. For any range it takes two queries: the doctors' working hours,
and their busy time in the range (active appointments and time off, in one statement).
Both are read as plain rows: a department's doctors have a few hundred of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select, union_all

from meditrack.appointments import rules
from meditrack.appointments.models import ACTIVE_STATUSES, Appointment, TimeOff
from meditrack.appointments.overlaps import overlapping
from meditrack.core import timeutil
from meditrack.doctors.models import Doctor, WorkingPeriod
from meditrack.extensions import db

Interval = timeutil.Span


def free_slots(
    doctors: list[Doctor], *, first_day: date | None, days: int, duration: int | None
) -> list[tuple[int, datetime, datetime]]:
    """(doctor_id, start, end) of every free slot, in time order."""
    tz = timeutil.hospital_tz()
    first_day = first_day or timeutil.today()
    range_start = timeutil.day_bounds(first_day)[0]
    range_end = timeutil.day_bounds(first_day + timedelta(days=days - 1))[1]
    bookable = [doctor for doctor in doctors if doctor.is_active and doctor.archived_at is None]
    ids = [doctor.id for doctor in bookable]
    periods = _working_hours(ids)
    busy = _busy(ids, range_start, range_end)
    now = timeutil.now()
    slots = []
    for doctor in bookable:
        length = timedelta(minutes=duration or doctor.slot_minutes)
        step = timedelta(minutes=doctor.slot_minutes)
        grid = []
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for weekday, starts_at, ends_at in periods[doctor.id]:
                if weekday != day.weekday():
                    continue
                start, period_end = rules.period_bounds(day, starts_at, ends_at, tz)
                while start + length <= period_end:
                    if start >= now:
                        grid.append((start, start + length))
                    start += step
        slots.extend((doctor.id, start, end) for start, end in outside(grid, busy[doctor.id]))
    slots.sort(key=lambda slot: (slot[1], slot[0]))
    return slots


def outside(grid: list[Interval], busy: Iterable[Interval]) -> Iterator[Interval]:
    """The slots of the grid that overlap no busy interval, in time order.

    The busy intervals are merged and sorted, then walked once alongside the sorted grid:
    an interval that ends before a slot starts ends before every later slot starts too.
    """
    merged = timeutil.merge_spans(busy)
    index = 0
    for start, end in sorted(grid):
        while index < len(merged) and merged[index][1] <= start:
            index += 1
        if index == len(merged) or end <= merged[index][0]:
            yield start, end


def _working_hours(doctor_ids: list[int]) -> dict[int, list[tuple]]:
    """doctor id -> (weekday, starts_at, ends_at) of each weekly period, in day order."""
    periods: dict[int, list[tuple]] = defaultdict(list)
    if not doctor_ids:
        return periods
    rows = db.session.execute(
        select(
            WorkingPeriod.doctor_id,
            WorkingPeriod.weekday,
            WorkingPeriod.starts_at,
            WorkingPeriod.ends_at,
        )
        .where(WorkingPeriod.doctor_id.in_(doctor_ids))
        .order_by(WorkingPeriod.doctor_id, WorkingPeriod.weekday, WorkingPeriod.starts_at)
    )
    for doctor_id, weekday, starts_at, ends_at in rows:
        periods[doctor_id].append((weekday, starts_at, ends_at))
    return periods


def _busy(doctor_ids: list[int], start: datetime, end: datetime) -> dict[int, list[Interval]]:
    busy: dict[int, list[Interval]] = defaultdict(list)
    if not doctor_ids:
        return busy
    appointments = select(
        Appointment.doctor_id, Appointment.start_time, Appointment.end_time
    ).where(
        Appointment.doctor_id.in_(doctor_ids),
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.archived_at.is_(None),
        overlapping(start, end),
    )
    time_off = select(TimeOff.doctor_id, TimeOff.start_time, TimeOff.end_time).where(
        TimeOff.doctor_id.in_(doctor_ids), TimeOff.start_time < end, TimeOff.end_time > start
    )
    for doctor_id, busy_start, busy_end in db.session.execute(union_all(appointments, time_off)):
        busy[doctor_id].append((busy_start, busy_end))
    return busy
