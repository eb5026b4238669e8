"""Small SQL building blocks whose spelling differs between PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class next_day(FunctionElement):  # noqa: N801
    type = Date()
    inherit_cache = True


@compiles(next_day, "postgresql")
def _next_day_pg(element, compiler, **kw):
    (day,) = list(element.clauses)
    return f"CAST({compiler.process(day, **kw)} + 1 AS DATE)"


@compiles(next_day, "sqlite")
def _next_day_sqlite(element, compiler, **kw):
    (day,) = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '+1 day')"


def offsets(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets over [start, end): [(valid until, offset seconds), ...].

    Found by walking the range in hours and bisecting each change to the second, so that
    a DST switch is placed exactly."""
    spans: list[tuple[datetime, int]] = []
    current = start
    offset = _offset(tz, current)
    step = timedelta(hours=1)
    while current < end:
        probe = min(current + step, end)
        if _offset(tz, probe) != offset:
            low, high = current, probe
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(tz, middle) == offset:
                    low = middle
                else:
                    high = middle
            spans.append((high.replace(microsecond=0), offset))
            offset = _offset(tz, high)
        current = probe
    spans.append((end, offset))
    return spans


def _offset(tz: ZoneInfo, instant: datetime) -> int:
    return int(instant.astimezone(tz).utcoffset().total_seconds())


class local_date(FunctionElement):  # noqa: N801
    """The calendar date of a UTC timestamp in the hospital's time zone.

    PostgreSQL converts with its own zone database; SQLite, which has none, adds the
    offset in force at that instant (a CASE over the zone's changes in the range)."""

    type = String()
    inherit_cache = False

    def __init__(self, column, tz: ZoneInfo, start: datetime, end: datetime):
        self.tz, self.start, self.end = tz, start, end
        super().__init__(column)


@compiles(local_date, "postgresql")
def _local_date_pg(element, compiler, **kw):
    (column,) = list(element.clauses)
    zone = element.tz.key.replace("'", "''")
    return f"CAST(timezone('{zone}', {compiler.process(column, **kw)}) AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    (column,) = list(element.clauses)
    sql_column = compiler.process(column, **kw)
    spans = offsets(element.tz, element.start, element.end)
    if len(spans) == 1:
        return f"date({sql_column}, '{spans[0][1]:+d} seconds')"
    cases = " ".join(
        f"WHEN {sql_column} < '{until.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}' "
        f"THEN date({sql_column}, '{offset:+d} seconds')"
        for until, offset in spans[:-1]
    )
    return f"(CASE {cases} ELSE date({sql_column}, '{spans[-1][1]:+d} seconds') END)"


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class micros_between(FunctionElement):  # noqa: N801
    """Microseconds from the first timestamp to the second, as an exact integer: the unit
    of `appointment_tallies`, whose triggers (migration 0005) spell it the same way."""

    type = BigInteger()
    inherit_cache = True


@compiles(micros_between, "postgresql")
def _micros_pg(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) * 1000000 AS BIGINT)"


@compiles(micros_between, "sqlite")
def _micros_sqlite(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({_epoch_micros_sqlite(end)} - {_epoch_micros_sqlite(start)})"


def _epoch_micros_sqlite(column: str) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); the fraction may be shorter or
    # absent. The whole seconds are read without it: strftime('%s') would round it away.
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 "
        f"+ CAST(substr(substr({column}, 21) || '000000', 1, 6) AS INTEGER))"
    )


class summed_micros(FunctionElement):  # noqa: N801
    """sum(micros_between(start, end)) over the rows where `condition` holds, summed as
    intervals on PostgreSQL (far cheaper per row than numbers). Untyped, so that the
    driver's exact numeric (PostgreSQL) or float (SQLite) comes through as it is."""

    inherit_cache = True


@compiles(summed_micros, "postgresql")
def _summed_micros_pg(element, compiler, **kw):
    start, end, condition = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM sum({end} - {start}) FILTER (WHERE {condition})) * 1000000)"


@compiles(summed_micros, "sqlite")
def _summed_micros_sqlite(element, compiler, **kw):
    start, end, condition = (compiler.process(clause, **kw) for clause in element.clauses)
    micros = f"({_epoch_micros_sqlite(end)} - {_epoch_micros_sqlite(start)})"
    return f"total({micros}) FILTER (WHERE {condition})"


class exact_sum(FunctionElement):  # noqa: N801
    """sum() of big integers: numeric (never overflowing) on PostgreSQL; SQLite's total(),
    a float, where sum() would raise on overflow. Untyped, like summed_micros."""

    inherit_cache = True


@compiles(exact_sum, "postgresql")
def _exact_sum_pg(element, compiler, **kw):
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _exact_sum_sqlite(element, compiler, **kw):
    return f"total({compiler.process(element.clauses, **kw)})"
