"""The issue's targets, checked against a run's figures (printed, never a failure)."""

from __future__ import annotations

#: Lists, searches and access logs: p50 and p99 limits, and no growth with the size.
LISTS = (
    "patients_page1", "patients_deep", "patients_search", "doctor_week",
    "department_slots_day", "access_log_own", "access_log_admin",
)  # fmt: skip
REPORTS = ("report_overview", "report_departments", "report_doctors", "report_daily",
           "report_demographics")  # fmt: skip
LIST_P50_MS, LIST_P99_MS, MAX_GROWTH = 25, 100, 1.5
READ_RPS, FLOOR_RATIO = 1500, 0.45
BOOKING_RPS = 300
SLOTS_P50_MS = 20
REPORT_P50_MS = 500
CHARTS = ("chart_daily_3y", "chart_daily_90d", "chart_doctors")
CHART_P50_MS = 1000
RSS_MB = 150


def evaluate(report: dict) -> list[dict]:
    """[{target, measured, met}] for the main size of the run (met is None when the
    scenario was not run or failed)."""
    run = report["sizes"][0]
    rows = {row["scenario"]: row for row in run["rows"]}
    compared = len(report["sizes"]) > 1
    small = report["sizes"][1]["patients"] if compared else None
    out: list[dict] = []

    def add(target: str, measured: str, met: bool | None) -> None:
        out.append({"target": target, "measured": measured, "met": met})

    def row(name: str) -> dict | None:
        found = rows.get(name)
        return None if found is None or found["error"] else found

    read = row("patient_get")
    if read:
        add(f"GET one patient >= {READ_RPS} req/s", f"{read['rps']:,.0f} req/s",
            read["rps"] >= READ_RPS)  # fmt: skip
        ratio = read["floor_ratio"]
        floor = rows.get("floor_patient_get") or {"rps": 0}
        add(f"GET one patient >= {FLOOR_RATIO} x floor",
            "-" if ratio is None else f"{ratio:.2f} x (floor {floor['rps']:,.0f} req/s)",
            None if ratio is None else ratio >= FLOOR_RATIO)  # fmt: skip
    for name in LISTS:
        found = row(name)
        if not found:
            continue
        add(f"{name} p50 < {LIST_P50_MS} ms", f"{found['p50_ms']:.1f} ms",
            found["p50_ms"] < LIST_P50_MS)  # fmt: skip
        add(f"{name} p99 < {LIST_P99_MS} ms", f"{found['p99_ms']:.1f} ms",
            found["p99_ms"] < LIST_P99_MS)  # fmt: skip
        if compared:
            growth = found.get("growth")
            how = " (timed one at a time at one size)" if found["serial"] else ""
            add(f"{name} p50 <= {MAX_GROWTH} x p50 at {small:,}",
                "-" if growth is None else f"{growth:.2f} x{how}",
                None if growth is None else growth <= MAX_GROWTH)  # fmt: skip
    booking = row("appointment_post")
    if booking:
        clean = booking["non_2xx"] == 0 and booking["socket_errors"] == 0
        add(f"POST an appointment >= {BOOKING_RPS} req/s (all 201)",
            f"{booking['rps']:,.0f} req/s, {booking['non_2xx']} non-2xx",
            booking["rps"] >= BOOKING_RPS and clean)  # fmt: skip
    slots = row("doctor_slots_14d")
    if slots:
        add(f"free slots over 14 days p50 < {SLOTS_P50_MS} ms", f"{slots['p50_ms']:.1f} ms",
            slots["p50_ms"] < SLOTS_P50_MS)  # fmt: skip
    for name in REPORTS:
        found = row(name)
        if found:
            add(f"{name} p50 < {REPORT_P50_MS} ms", f"{found['p50_ms']:.1f} ms",
                found["p50_ms"] < REPORT_P50_MS)  # fmt: skip
    for name in CHARTS:
        found = row(name)
        if found:
            add(f"{name} p50 < {CHART_P50_MS} ms", f"{found['p50_ms']:.1f} ms",
                found["p50_ms"] < CHART_P50_MS)  # fmt: skip
    peak = run["app_worker_peak_rss_mb"]
    add(f"worker peak RSS < {RSS_MB} MB over the run", f"{peak:.0f} MB", peak < RSS_MB)
    return out
