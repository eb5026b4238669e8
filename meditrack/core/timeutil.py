"""The hospital's clock: naive input is read in its zone, output carries an offset."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

#: [start, end) of a stretch of time.
Span = tuple[datetime, datetime]


def hospital_tz() -> ZoneInfo:
    return current_app.config["HOSPITAL_TZ"]


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().astimezone(hospital_tz()).date()


def localize(value: datetime) -> datetime:
    """Attach the hospital zone to a naive datetime; leave an aware one as given."""
    return value.replace(tzinfo=hospital_tz()) if value.tzinfo is None else value


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in hospital time, as aware UTC datetimes."""
    tz = hospital_tz()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined: sorted and disjoint, no minute twice."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
