"""Reports as CSV (RFC 4180) for spreadsheets and as PNG charts for people."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import date

from marshmallow import Schema, fields


def flatten(row: Mapping, prefix: str = "") -> dict:
    """{"appointments": {"total": 3}} -> {"appointments_total": 3}."""
    flat = {}
    for key, value in row.items():
        name = f"{prefix}_{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def columns(schema: Schema) -> list[str]:
    """A report's CSV header: its JSON field names, nested ones flattened."""
    names = []
    for name, field in schema.fields.items():
        key = field.data_key or name
        if isinstance(field, fields.Nested):
            names += [f"{key}_{inner}" for inner in columns(field.schema)]
        else:
            names.append(key)
    return names


def to_csv(rows: list[Mapping], header: list[str]) -> str:
    """The header is written even when there are no rows."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(
        {key: "" if value is None else _cell(value) for key, value in flatten(row).items()}
        for row in rows
    )
    return buffer.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """Dates as ISO 8601; text that a spreadsheet would run as a formula is defused."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


STATUS_COLOURS = {
    "completed": "#2e7d32",
    "checked_in": "#0277bd",
    "scheduled": "#90caf9",
    "no_show": "#ef6c00",
    "cancelled": "#9e9e9e",
}
GENDER_COLOURS = {"female": "#8e24aa", "male": "#1e88e5", "other": "#43a047", "unknown": "#9e9e9e"}


def _png(
    draw: Callable, title: str, first: date, last: date, *, height: float = 5.5, grid: str = "y"
) -> bytes:
    # matplotlib is loaded on the first chart, not when a worker starts (it costs memory
    # and start-up time). A bare Figure, unlike pyplot, keeps no global state, so
    # threads can draw at once.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, height), dpi=100)
    axes = figure.subplots()
    draw(axes)
    axes.set_title(f"{title}\n{first.isoformat()} to {last.isoformat()}")
    axes.grid(axis=grid, alpha=0.3)
    axes.set_axisbelow(True)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _legend_beside(axes, title: str) -> None:
    """The legend to the right of the plot, never over a bar, in the order the segments
    are stacked (top segment first)."""
    handles, labels = axes.get_legend_handles_labels()
    axes.legend(
        handles[::-1],
        labels[::-1],
        title=title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize="small",
        frameon=False,
    )


def daily_chart(rows: list[Mapping], first: date, last: date) -> bytes:
    import matplotlib.dates as mdates

    def draw(axes):
        days = [row["date"] for row in rows]
        bottom = [0] * len(rows)
        for status, colour in STATUS_COLOURS.items():
            values = [row[status] for row in rows]
            axes.bar(days, values, bottom=bottom, color=colour, label=status.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        # At most about a dozen date labels, whatever the length of the range; whole days
        # only, never hours.
        if len(days) <= 31:
            locator = mdates.DayLocator(interval=-(-len(days) // 12))
            formatter = mdates.DateFormatter("%b %d")
        else:
            locator = mdates.AutoDateLocator(minticks=3, maxticks=12)
            formatter = mdates.ConciseDateFormatter(locator)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(formatter)
        if days:
            axes.set_xlim(mdates.date2num(days[0]) - 0.7, mdates.date2num(days[-1]) + 0.7)
        axes.set_xlabel("Day")
        axes.set_ylabel("Appointments")
        axes.yaxis.get_major_locator().set_params(integer=True)
        _legend_beside(axes, "Status")

    return _png(draw, "Appointments per day by status", first, last)


def utilization_chart(rows: list[Mapping], label: str, first: date, last: date) -> bytes:
    # Busiest first; the figure grows with the number of bars so that every name stays legible.
    ranked = sorted(rows, key=lambda row: (-(row["utilization"] or 0), row["name"]))

    def draw(axes):
        names = [row["name"] for row in ranked]
        values = [(row["utilization"] or 0) * 100 for row in ranked]
        bars = axes.barh(names, values, color="#1e88e5")
        axes.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3, fontsize="small")
        axes.invert_yaxis()
        axes.margins(y=0.01)
        axes.set_xlabel("Utilization (% of available minutes booked)")
        axes.set_ylabel(label)
        axes.set_xlim(0, max([100, *values]) * 1.1)

    height = max(5.5, 1.4 + 0.28 * len(rows))
    return _png(draw, f"Utilization by {label.lower()}", first, last, height=height, grid="x")


def demographics_chart(rows: list[Mapping], first: date, last: date) -> bytes:
    def draw(axes):
        bands = [row["age_band"] for row in rows]
        bottom = [0] * len(rows)
        for gender, colour in GENDER_COLOURS.items():
            values = [row[gender] for row in rows]
            axes.bar(bands, values, bottom=bottom, color=colour, label=gender)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_xlabel(f"Age band (age on {last.isoformat()})")
        axes.set_ylabel("Patients")
        axes.yaxis.get_major_locator().set_params(integer=True)
        _legend_beside(axes, "Gender")

    return _png(draw, "Active patients by age band and gender", first, last)
