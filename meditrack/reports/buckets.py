"""The bars of the appointments chart: days over short ranges, weeks or months over long ones.

A chart of 1 096 daily bars is unreadable and costs seconds to draw; a bucket keeps every
chart to about a hundred bars whatever the range (the JSON and CSV answers stay daily).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

#: The longest range drawn day by day, and week by week; longer ones are drawn by month.
DAILY_UP_TO_DAYS = 92
WEEKLY_UP_TO_DAYS = 731


class Unit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass
class Bucket:
    """One bar: the days first to last (both inclusive, inside the range) and their counts."""

    first: date
    last: date
    counts: dict[str, int]


def unit_for(first: date, last: date) -> Unit:
    days = (last - first).days + 1
    if days <= DAILY_UP_TO_DAYS:
        return Unit.DAY
    if days <= WEEKLY_UP_TO_DAYS:
        return Unit.WEEK
    return Unit.MONTH


def _start_of(day: date, unit: Unit) -> date:
    if unit == Unit.WEEK:
        return day - timedelta(days=day.weekday())  # weeks start on Monday (ISO 8601)
    if unit == Unit.MONTH:
        return day.replace(day=1)
    return day


def group(rows: Sequence[Mapping], keys: Sequence[str], unit: Unit) -> list[Bucket]:
    """Daily rows ({"date", key: count, ...}, in date order) summed into buckets of `unit`.
    The first and last buckets are cut at the range's ends, so every count is in the range."""
    buckets: list[Bucket] = []
    for row in rows:
        day = row["date"]
        if buckets and _start_of(day, unit) == _start_of(buckets[-1].first, unit):
            current = buckets[-1]
            current.last = day
            for key in keys:
                current.counts[key] += row[key]
        else:
            buckets.append(Bucket(day, day, {key: row[key] for key in keys}))
    return buckets
