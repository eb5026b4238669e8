"""The appointments chart draws days, weeks or months by the length of the range, says
which, and adds up to the daily figures of the same range; and no chart draws a bar per
day over years."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest

from meditrack.appointments.models import Appointment
from meditrack.extensions import db
from meditrack.reports import buckets, formats
from tests.report_helpers import PNG_SIGNATURE, figures, png_size, report

STATUSES = ["scheduled", "checked_in", "completed", "cancelled", "no_show"]
#: The most bars a chart may draw: about a hundred, whatever the range.
MOST_BARS = 106


@pytest.fixture
def drawn(monkeypatch) -> list[list[buckets.Bucket]]:
    """Every series of bars handed to the renderer (it still draws them)."""
    seen: list[list[buckets.Bucket]] = []
    draw = formats.stacked_bars

    def spy(axes, series, colours):
        seen.append(list(series))
        return draw(axes, series, colours)

    monkeypatch.setattr(formats, "stacked_bars", spy)
    return seen


@pytest.fixture
def busy_years(app, factory) -> date:
    """About 300 past appointments spread over the last three years, in every status;
    returns today (UTC, the test hospital's zone)."""
    doctor = factory.doctor()
    patient = factory.patient()
    today = datetime.now(UTC).date()
    rng = random.Random(13)
    days = sorted(rng.sample(range(1, 1090), 300))
    with app.app_context():
        for index, back in enumerate(days):
            start = datetime.combine(today - timedelta(days=back), time(10), tzinfo=UTC)
            db.session.add(
                Appointment(
                    patient_id=patient["id"],
                    doctor_id=doctor["id"],
                    department_id=doctor["department_id"],
                    start_time=start,
                    end_time=start + timedelta(minutes=30),
                    status=STATUSES[index % len(STATUSES)],
                )
            )
        db.session.commit()
    return today


def _range(today: date, days: int) -> dict:
    return {"start": today - timedelta(days=days - 1), "to": today}


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month(day: date) -> date:
    return day.replace(day=1)


# 92 days and less: by day; up to 731 (two years): by week; longer: by month.
@pytest.mark.parametrize(
    ("days", "unit", "start_of"),
    [
        (1, "day", None),
        (30, "day", None),
        (92, "day", None),
        (93, "week", _week),
        (365, "week", _week),
        (731, "week", _week),
        (732, "month", _month),
        (1095, "month", _month),
    ],
)
def test_the_bucket_follows_the_range_and_adds_up_to_the_days(
    client, admin, busy_years, drawn, days, unit, start_of
):
    query = _range(busy_years, days)
    response = report(client, admin, "appointments/daily", format="png", **query)
    assert response.status_code == 200
    assert response.data.startswith(PNG_SIGNATURE)
    assert png_size(response.data) == (1100, 550)
    assert response.headers["X-Chart-Bucket"] == unit

    daily = figures(client, admin, "appointments/daily", **query)
    assert len(daily) == days
    expected: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for row in daily:
        day = date.fromisoformat(row["date"])
        key = day if start_of is None else start_of(day)
        for status in STATUSES:
            expected[key][status] += row[status]

    [series] = drawn
    assert len(series) == len(expected) <= MOST_BARS
    assert [bucket.first for bucket in series][1:] == sorted(expected)[1:]
    assert series[0].first == query["start"] and series[-1].last == busy_years
    for bucket, following in pairwise(series):
        assert following.first == bucket.last + timedelta(days=1)  # no day lost or twice
    for bucket in series:
        key = bucket.first if start_of is None else start_of(bucket.first)
        assert bucket.counts == expected[key]
    assert sum(sum(bucket.counts.values()) for bucket in series) == sum(
        row["total"] for row in daily
    )
    assert sum(row["total"] for row in daily) > 0 or days == 1


def test_three_years_are_drawn_as_at_most_37_bars(client, admin, busy_years, drawn):
    """The longest range a report takes: 36 months and the parts of two more at most."""
    first = busy_years.replace(year=busy_years.year - 3) + timedelta(days=1)
    response = report(client, admin, "appointments/daily", format="png", start=first, to=busy_years)
    assert response.status_code == 200
    assert response.headers["X-Chart-Bucket"] == "month"
    [series] = drawn
    assert len(series) <= 37
    assert sum(sum(bucket.counts.values()) for bucket in series) == 300


def test_a_day_past_three_years_is_refused_naming_the_limit(client, admin):
    last = date(2026, 1, 31)
    response = report(
        client, admin, "appointments/daily", format="png", start=date(2023, 1, 31), to=last
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["to"] == ["A report covers at most 3 years."]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_only_charts_say_a_bucket(client, admin, fmt):
    response = report(client, admin, "appointments/daily", format=fmt)
    assert response.status_code == 200
    assert "X-Chart-Bucket" not in response.headers


@pytest.mark.parametrize("report_name", ["departments", "doctors", "patients/demographics"])
def test_charts_without_a_time_axis_say_no_bucket(client, admin, report_name):
    response = report(client, admin, report_name, format="png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "X-Chart-Bucket" not in response.headers
