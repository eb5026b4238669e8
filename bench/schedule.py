"""Doctors' slot grids in Python: the appointments ahead, and free slots to book.

The past is generated in SQL (bench/build_db.py), where past appointments may overlap
(the database only keeps scheduled and checked-in ones apart). What lies ahead must not
overlap for a doctor or a patient, so it is laid out here, slot by slot, as the demo does.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bench import shapes

Interval = tuple[datetime, datetime]


@dataclass
class DoctorPlan:
    id: int
    department_id: int
    slot_minutes: int
    periods: list[tuple[int, time, time]]  # (weekday, starts_at, ends_at), hospital time
    is_active: bool = True
    time_off: list[Interval] = field(default_factory=list)


def period_bounds(day: date, starts_at: time, ends_at: time, tz: ZoneInfo) -> Interval:
    """A working period on a calendar day as UTC instants (as the app computes it)."""
    start = datetime.combine(day, starts_at, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, ends_at, tzinfo=tz).astimezone(UTC)
    return start, end


def overlaps(start: datetime, end: datetime, other: Interval) -> bool:
    return start < other[1] and other[0] < end


def day_starts(doctor: DoctorPlan, day: date, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """(slot start, period end) of each grid position of the doctor on that day."""
    step = timedelta(minutes=doctor.slot_minutes)
    for weekday, starts_at, ends_at in doctor.periods:
        if weekday != day.weekday():
            continue
        start, period_end = period_bounds(day, starts_at, ends_at, tz)
        while start + step <= period_end:
            yield start, period_end
            start += step


def off(doctor: DoctorPlan, start: datetime, end: datetime) -> bool:
    return any(overlaps(start, end, spell) for spell in doctor.time_off)


def upcoming(
    doctors: Sequence[DoctorPlan],
    patients: dict[bool, list[int]],
    *,
    today: date,
    now: datetime,
    tz: ZoneInfo,
    target: int,
    rng: random.Random,
) -> list[dict]:
    """Appointments from tomorrow to FUTURE_DAYS ahead: at most `target`, none overlapping
    another active one of its doctor or its patient. `patients` maps "is a child" to ids
    of patients who may be booked (registered long enough ago, not archived)."""
    active = [doctor for doctor in doctors if doctor.is_active]
    capacity = sum(
        1
        for doctor in active
        for offset in range(1, shapes.FUTURE_DAYS + 1)
        for _ in day_starts(doctor, today + timedelta(days=offset), tz)
    )
    mean_slots = 1.7  # visits of 20-60 minutes on 15-30 minute grids
    # the fill falls linearly to 20 % of the first day's: 60 % of it on average
    fill = min(shapes.FUTURE_FILL, target * mean_slots / max(capacity * 0.6, 1))
    busy: dict[int, list[Interval]] = defaultdict(list)
    rows: list[dict] = []
    for doctor in active:
        pool = _pool(doctor, patients)
        lengths = [
            (-(-minutes // doctor.slot_minutes), share) for minutes, share in shapes.VISIT_MINUTES
        ]
        for offset in range(1, shapes.FUTURE_DAYS + 1):
            day = today + timedelta(days=offset)
            day_fill = fill * (1 - 0.8 * (offset - 1) / shapes.FUTURE_DAYS)
            chance = day_fill / (mean_slots * (1 - day_fill) + day_fill)
            taken_until = None
            for start, period_end in day_starts(doctor, day, tz):
                if taken_until is not None and start < taken_until:
                    continue
                if rng.random() >= chance:
                    continue
                length = _weighted(rng, lengths)
                end = start + timedelta(minutes=length * doctor.slot_minutes)
                while end > period_end:
                    end -= timedelta(minutes=doctor.slot_minutes)
                if off(doctor, start, end):
                    continue
                patient_id = _free_patient(pool, busy, start, end, rng)
                if patient_id is None:
                    continue
                busy[patient_id].append((start, end))
                taken_until = end
                rows.append(_appointment(doctor, patient_id, start, end, now, rng))
    return rows


def _pool(doctor: DoctorPlan, patients: dict[bool, list[int]]) -> list[int]:
    if doctor.department_id == shapes.PEDIATRICS:
        return patients[True]
    if doctor.department_id == shapes.EMERGENCY:
        return patients[True] + patients[False]
    return patients[False]


def _free_patient(
    pool: list[int], busy: dict[int, list[Interval]], start: datetime, end: datetime, rng
) -> int | None:
    for _ in range(20):
        patient_id = rng.choice(pool)
        if not any(overlaps(start, end, spell) for spell in busy[patient_id]):
            return patient_id
    return None


def _appointment(
    doctor: DoctorPlan, patient_id: int, start: datetime, end: datetime, now: datetime, rng
) -> dict:
    low, high = rng.choice(shapes.BOOKING_LEAD_HOURS)
    booked = start - timedelta(seconds=rng.randrange(low * 3600, high * 3600))
    if booked >= now:
        booked = now - timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
    cancelled = rng.random() < shapes.FUTURE_CANCELLED
    return {
        "patient_id": patient_id,
        "doctor_id": doctor.id,
        "department_id": doctor.department_id,
        "start_time": start,
        "end_time": end,
        "status": "cancelled" if cancelled else "scheduled",
        "cancellation_reason": rng.choice(shapes.CANCELLATION_REASONS) if cancelled else None,
        "created_at": booked,
        "updated_at": booked + (now - booked) * rng.uniform(0.2, 0.98) if cancelled else booked,
    }


def free_slots(
    doctors: Sequence[DoctorPlan],
    *,
    first_day: date,
    count: int,
    tz: ZoneInfo,
    taken: dict[int, list[Interval]] | None = None,
) -> list[tuple[int, datetime, datetime]]:
    """`count` grid slots of the doctors' standard length from `first_day` on, in time
    order, outside time off and outside `taken` (doctor id -> busy intervals)."""
    taken = taken or {}
    active = [doctor for doctor in doctors if doctor.is_active]
    slots: list[tuple[int, datetime, datetime]] = []
    day = first_day
    while len(slots) < count:
        found = []
        for doctor in active:
            length = timedelta(minutes=doctor.slot_minutes)
            for start, _ in day_starts(doctor, day, tz):
                end = start + length
                if off(doctor, start, end):
                    continue
                if any(overlaps(start, end, spell) for spell in taken.get(doctor.id, ())):
                    continue
                found.append((doctor.id, start, end))
        found.sort(key=lambda slot: (slot[1], slot[0]))
        slots.extend(found)
        day += timedelta(days=1)
    return slots[:count]


def _weighted(rng: random.Random, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]
