"""Available minutes: the doctors' weekly working hours laid over a range of days in
hospital time, less their time off.

A year is 365 days for each of hundreds of doctors, so ordinary days are not walked one by
one: on a day without a change of UTC offset a period lasts what its clock times say, and
each weekday's minutes are multiplied by the number of those weekdays in the range. Only
the days of an offset change (DST) and the days a doctor's time off touches are computed
one by one, through the zone, as instants.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from meditrack.appointments.models import TimeOff
from meditrack.appointments.rules import period_bounds
from meditrack.core import timeutil
from meditrack.doctors.models import Doctor
from meditrack.extensions import db

Span = timeutil.Span


def available_minutes(doctors: list[Doctor], first: date, last: date) -> dict[int, int]:
    """Working minutes of each doctor from `first` to `last` (inclusive), less time off."""
    tz = timeutil.hospital_tz()
    start = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    off = _time_off([doctor.id for doctor in doctors], start, end)
    weekdays = _weekday_counts(first, last)
    shifted = _offset_change_days(first, last, tz)
    minutes: dict[int, int] = {}
    for doctor in doctors:
        spans = off.get(doctor.id, [])
        exact_days = shifted | _days_touched(spans, first, last, tz)
        periods = _periods_by_weekday(doctor)
        by_weekday = [_clock_length(weekday_periods) for weekday_periods in periods]
        total = timedelta()
        for weekday, count in enumerate(weekdays):
            total += by_weekday[weekday] * count
        for day in exact_days:
            total -= by_weekday[day.weekday()]
            total += _day_minutes(periods[day.weekday()], day, spans, tz)
        minutes[doctor.id] = round(total.total_seconds() / 60)
    return minutes


def _time_off(doctor_ids: list[int], start: datetime, end: datetime) -> dict[int, list[Span]]:
    """Each doctor's time off over [start, end), merged: no minute is taken off twice."""
    spells: dict[int, list[Span]] = defaultdict(list)
    if doctor_ids:
        rows = db.session.execute(
            select(TimeOff.doctor_id, TimeOff.start_time, TimeOff.end_time).where(
                TimeOff.doctor_id.in_(doctor_ids),
                TimeOff.start_time < end,
                TimeOff.end_time > start,
            )
        )
        for doctor_id, spell_start, spell_end in rows:
            spells[doctor_id].append((spell_start, spell_end))
    return {doctor_id: timeutil.merge_spans(found) for doctor_id, found in spells.items()}


def _weekday_counts(first: date, last: date) -> list[int]:
    """How many Mondays, Tuesdays, ... Sundays the range holds."""
    days = (last - first).days + 1
    weeks, rest = divmod(days, 7)
    counts = [weeks] * 7
    for offset in range(rest):
        counts[(first.weekday() + offset) % 7] += 1
    return counts


def _offset_change_days(first: date, last: date, tz: ZoneInfo) -> set[date]:
    """Days whose UTC offset is not the same from midnight to midnight."""
    days = set()
    day, offset = first, _midnight_offsets(first, tz)
    while day <= last:
        following = day + timedelta(days=1)
        next_offset = _midnight_offsets(following, tz)
        if len({*offset, *next_offset}) > 1:
            days.add(day)
        day, offset = following, next_offset
    return days


def _midnight_offsets(day: date, tz: ZoneInfo) -> set[timedelta]:
    # Both folds: a change at midnight itself shows up as two offsets.
    midnight = datetime.combine(day, time.min, tzinfo=tz)
    return {midnight.utcoffset(), midnight.replace(fold=1).utcoffset()}


def _days_touched(spans: list[Span], first: date, last: date, tz: ZoneInfo) -> set[date]:
    """The hospital days of the range that a span of time off reaches into."""
    days = set()
    for start, end in spans:
        day = max(start.astimezone(tz).date(), first)
        until = min(end.astimezone(tz).date(), last)
        while day <= until:
            days.add(day)
            day += timedelta(days=1)
    return days


def _periods_by_weekday(doctor: Doctor) -> list[list[tuple[time, time]]]:
    """A doctor's working periods, (starts_at, ends_at), on each weekday."""
    periods: list[list[tuple[time, time]]] = [[] for _ in range(7)]
    for period in doctor.working_hours:
        periods[period.weekday].append((period.starts_at, period.ends_at))
    return periods


def _clock_length(periods: list[tuple[time, time]]) -> timedelta:
    """How long periods last by the clock: their length on a day without an offset change."""
    lengths = (
        datetime.combine(date.min, ends_at) - datetime.combine(date.min, starts_at)
        for starts_at, ends_at in periods
    )
    return sum(lengths, timedelta())


def _day_minutes(
    periods: list[tuple[time, time]], day: date, spans: list[Span], tz: ZoneInfo
) -> timedelta:
    """Working time on one day, each period placed through the zone, less time off."""
    total = timedelta()
    for starts_at, ends_at in periods:
        start, end = period_bounds(day, starts_at, ends_at, tz)
        total += end - start
        for off_start, off_end in spans:
            total -= max(min(end, off_end) - max(start, off_start), timedelta())
    return total
