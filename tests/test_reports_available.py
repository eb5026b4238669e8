"""Available minutes, proved against the plain definition: every doctor, every day of the
range, every working period placed through the zone, less each minute of time off once.

The reports count ordinary days by weekday and compute one by one only the days of a DST
change and the days touched by time off; random doctors, ranges and time off (overlapping
spells, spells across the range's edges and across DST changes) in zones with one-hour,
half-hour and midnight changes must give the plain definition's figures exactly.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from meditrack.appointments.models import TimeOff
from meditrack.appointments.rules import period_bounds
from meditrack.doctors.models import Doctor, WorkingPeriod
from meditrack.extensions import db
from meditrack.reports.available import available_minutes

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # DST moves the clock by half an hour
    "America/Havana",  # the clock changes at midnight
    "Asia/Kolkata",  # no DST, a half-hour offset
    "UTC",
)
CLOCKS = ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "09:00", "12:00"]
CLOCKS += ["12:45", "13:30", "17:00", "22:00", "23:00", "23:30", "23:59"]


def reference_minutes(doctors: list[Doctor], first: date, last: date, tz) -> dict[int, int]:
    """The plain definition, as the reports first computed it: day by day."""
    start = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    spells = defaultdict(list)
    rows = db.session.execute(
        select(TimeOff.doctor_id, TimeOff.start_time, TimeOff.end_time).where(
            TimeOff.doctor_id.in_([d.id for d in doctors]),
            TimeOff.start_time < end,
            TimeOff.end_time > start,
        )
    )
    for doctor_id, off_start, off_end in rows:
        spells[doctor_id].append((off_start, off_end))
    off = {doctor_id: _merged(found) for doctor_id, found in spells.items()}
    minutes = {}
    for doctor in doctors:
        total = 0.0
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            for period in doctor.working_hours:
                if period.weekday != day.weekday():
                    continue
                period_start, period_end = period_bounds(day, period.starts_at, period.ends_at, tz)
                total += (period_end - period_start).total_seconds() / 60
                for off_start, off_end in off.get(doctor.id, ()):
                    overlap = min(period_end, off_end) - max(period_start, off_start)
                    total -= max(overlap.total_seconds() / 60, 0)
        minutes[doctor.id] = round(total)
    return minutes


def _merged(spans):
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _dst_days(tz, first: date, last: date) -> list[date]:
    days = []
    day = first
    while day <= last:
        midnight = datetime.combine(day, time.min, tzinfo=tz)
        following = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
        if midnight.utcoffset() != following.utcoffset():
            days.append(day)
        day += timedelta(days=1)
    return days


def _working_hours(rng: random.Random) -> list[tuple[int, time, time]]:
    periods = []
    for weekday in range(7):
        clocks = sorted(rng.sample(CLOCKS, rng.choice([0, 2, 2, 4])))
        for starts_at, ends_at in zip(clocks[::2], clocks[1::2], strict=True):
            periods.append((weekday, time.fromisoformat(starts_at), time.fromisoformat(ends_at)))
    return periods


def _time_off(rng: random.Random, tz, first: date, last: date, dst_days: list[date]):
    """Spells in and around the range, some on DST days, some overlapping each other."""
    anchors = [first, last, *dst_days] + [
        first + timedelta(days=rng.randrange((last - first).days + 1)) for _ in range(4)
    ]
    spells = []
    for _ in range(rng.randrange(7)):
        day = rng.choice(anchors) + timedelta(days=rng.randint(-2, 2))
        start = datetime.combine(day, time(rng.randrange(24), rng.choice([0, 15, 30, 59])), tz)
        length = timedelta(minutes=rng.choice([30, 90, 180, 600, 1440, 4000, 11000]))
        spells.append((start.astimezone(UTC), (start + length).astimezone(UTC)))
        if rng.random() < 0.3:  # one that overlaps it
            inner = start + timedelta(minutes=rng.randrange(0, int(length.total_seconds() // 60)))
            spells.append((inner.astimezone(UTC), (inner + length).astimezone(UTC)))
    return spells


@pytest.mark.parametrize("zone", ZONES)
def test_available_minutes_match_the_day_by_day_definition(app, factory, monkeypatch, zone):
    tz = ZoneInfo(zone)
    monkeypatch.setitem(app.config, "MEDITRACK_TIMEZONE", zone)
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", tz)
    rng = random.Random(zone)
    department = factory.department()["id"]
    compared = 0
    with app.app_context():
        for case in range(12):
            first = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
            last = first + timedelta(days=rng.choice([0, 1, 6, 30, 200, 366]))
            dst_days = _dst_days(tz, first - timedelta(days=3), last + timedelta(days=3))
            doctors = []
            for n in range(6):
                doctor = Doctor(
                    first_name="Doc",
                    last_name=f"{case}-{n}",
                    email=f"doctor{case}.{n}@example.org",
                    specialization="General practice",
                    department_id=department,
                    working_hours=[
                        WorkingPeriod(weekday=weekday, starts_at=starts_at, ends_at=ends_at)
                        for weekday, starts_at, ends_at in _working_hours(rng)
                    ],
                )
                db.session.add(doctor)
                db.session.flush()
                for start, end in _time_off(rng, tz, first, last, dst_days):
                    db.session.add(TimeOff(doctor_id=doctor.id, start_time=start, end_time=end))
                doctors.append(doctor)
            db.session.commit()
            db.session.expire_all()
            doctors = list(
                db.session.scalars(
                    select(Doctor)
                    .options(selectinload(Doctor.working_hours))
                    .where(Doctor.id.in_(d.id for d in doctors))
                )
            )

            expected = reference_minutes(doctors, first, last, tz)
            assert available_minutes(doctors, first, last) == expected, (first, last)
            compared += len(expected)
    assert compared == 72


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Berlin", "2025-03-30"),
        ("Europe/Berlin", "2025-10-26"),
        ("America/New_York", "2025-03-09"),
        ("America/New_York", "2025-11-02"),
        ("Australia/Lord_Howe", "2025-04-06"),
        ("America/Havana", "2025-03-09"),
    ],
)
def test_a_dst_day_alone_and_inside_a_year(app, factory, monkeypatch, zone, day):
    """A doctor working every hour of every day: the DST day is shorter or longer, and a
    year holding it differs from 365 plain days by exactly that."""
    tz = ZoneInfo(zone)
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", tz)
    day = date.fromisoformat(day)
    doctor_id = factory.doctor(
        working_hours=[
            {"weekday": weekday, "start": "00:00", "end": "23:59"} for weekday in range(7)
        ]
    )["id"]
    with app.app_context():
        doctor = db.session.get(Doctor, doctor_id, options=[selectinload(Doctor.working_hours)])
        alone = available_minutes([doctor], day, day)[doctor_id]
        start = datetime.combine(day, time.min, tzinfo=tz)
        real = (
            datetime.combine(day, time(23, 59), tzinfo=tz).astimezone(UTC) - start.astimezone(UTC)
        ).total_seconds() / 60
        assert alone == real != 1439
        first, last = day - timedelta(days=100), day + timedelta(days=100)
        year = available_minutes([doctor], first, last)[doctor_id]
        assert year == reference_minutes([doctor], first, last, tz)[doctor_id]
