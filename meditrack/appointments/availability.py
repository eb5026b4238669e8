"""Free slots, computed from the rules: working hours, time off, booked time and now.

No slot rows are stored. For any range it takes three queries: the doctors with their
working hours, their active appointments in the range, and their time off in the range.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from meditrack.appointments import rules
from meditrack.appointments.models import ACTIVE_STATUSES, Appointment, TimeOff
from meditrack.core import timeutil
from meditrack.doctors.models import Doctor
from meditrack.extensions import db

Interval = tuple[datetime, datetime]


def free_slots(
    doctors: list[Doctor], *, first_day: date | None, days: int, duration: int | None
) -> list[tuple[int, datetime, datetime]]:
    """(doctor_id, start, end) of every free slot, in time order."""
    tz = timeutil.hospital_tz()
    first_day = first_day or timeutil.today()
    range_start = timeutil.day_bounds(first_day)[0]
    range_end = timeutil.day_bounds(first_day + timedelta(days=days - 1))[1]
    bookable = [doctor for doctor in doctors if doctor.is_active and doctor.archived_at is None]
    busy = _busy([doctor.id for doctor in bookable], range_start, range_end)
    now = timeutil.now()
    slots = []
    for doctor in bookable:
        length = timedelta(minutes=duration or doctor.slot_minutes)
        step = timedelta(minutes=doctor.slot_minutes)
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for period in doctor.working_hours:
                if period.weekday != day.weekday():
                    continue
                start, period_end = rules.period_bounds(day, period.starts_at, period.ends_at, tz)
                while start + length <= period_end:
                    end = start + length
                    if start >= now and not _clashes(busy[doctor.id], start, end):
                        slots.append((doctor.id, start, end))
                    start += step
    slots.sort(key=lambda slot: (slot[1], slot[0]))
    return slots


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
        Appointment.start_time < end,
        Appointment.end_time > start,
    )
    time_off = select(TimeOff.doctor_id, TimeOff.start_time, TimeOff.end_time).where(
        TimeOff.doctor_id.in_(doctor_ids), TimeOff.start_time < end, TimeOff.end_time > start
    )
    for stmt in (appointments, time_off):
        for doctor_id, busy_start, busy_end in db.session.execute(stmt):
            busy[doctor_id].append((busy_start, busy_end))
    return busy


def _clashes(busy: list[Interval], start: datetime, end: datetime) -> bool:
    return any(rules.overlaps(start, end, busy_start, busy_end) for busy_start, busy_end in busy)
