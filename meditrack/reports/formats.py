"""Reports as CSV (RFC 4180) for spreadsheets and as PNG charts for people."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display: render to memory

import matplotlib.pyplot as plt


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


def to_csv(rows: list[Mapping]) -> str:
    flat = [flatten(row) for row in rows]
    buffer = io.StringIO()
    if flat:
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(
            {key: "" if value is None else _cell(value) for key, value in row.items()}
            for row in flat
        )
    return buffer.getvalue()


def _cell(value):
    return value.isoformat() if isinstance(value, date) else value


STATUS_COLOURS = {
    "completed": "#2e7d32",
    "checked_in": "#0277bd",
    "scheduled": "#90caf9",
    "no_show": "#ef6c00",
    "cancelled": "#9e9e9e",
}
GENDER_COLOURS = {"female": "#8e24aa", "male": "#1e88e5", "other": "#43a047", "unknown": "#9e9e9e"}


def _png(draw: Callable, title: str, first: date, last: date) -> bytes:
    figure, axes = plt.subplots(figsize=(11, 5.5), dpi=100)
    try:
        draw(axes)
        axes.set_title(f"{title}\n{first.isoformat()} to {last.isoformat()}")
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def daily_chart(rows: list[Mapping], first: date, last: date) -> bytes:
    def draw(axes):
        days = [row["date"] for row in rows]
        bottom = [0] * len(rows)
        for status, colour in STATUS_COLOURS.items():
            values = [row[status] for row in rows]
            axes.bar(days, values, bottom=bottom, color=colour, label=status.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_xlabel("Day")
        axes.set_ylabel("Appointments")
        axes.legend(loc="upper left", ncols=5, fontsize="small")
        axes.figure.autofmt_xdate()

    return _png(draw, "Appointments per day by status", first, last)


def utilization_chart(rows: list[Mapping], label: str, first: date, last: date) -> bytes:
    def draw(axes):
        names = [row["name"] for row in rows]
        values = [(row["utilization"] or 0) * 100 for row in rows]
        bars = axes.barh(names, values, color="#1e88e5")
        axes.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3, fontsize="small")
        axes.invert_yaxis()
        axes.set_xlabel("Utilization (% of available minutes booked)")
        axes.set_ylabel(label)
        axes.set_xlim(0, max([100, *values]) * 1.1)

    return _png(draw, f"Utilization by {label.lower()}", first, last)


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
        axes.legend(fontsize="small")

    return _png(draw, "Active patients by age band and gender", first, last)
