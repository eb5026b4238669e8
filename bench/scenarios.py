"""What the benchmarks ask the API, and as whom.

Each scenario prepares the requests wrk replays: one line each, "METHOD<tab>PATH[<tab>BODY]".
Ids vary from request to request where the database would notice (a patient read picks
a random patient; a booking takes a free slot nobody else takes).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import psycopg

from bench import shapes
from bench.schedule import DoctorPlan, free_slots

#: Requests per second a booking scenario will not exceed: slots are prepared for it.
MAX_BOOKINGS_PER_SECOND = 1500
REPORT_DAYS = 365
#: The longest range a report takes (three years, less a day: 2024 is a leap year).
CHART_DAYS = 3 * 365


@dataclass
class Hospital:
    """What the scenarios need to know about one benchmark database."""

    database: str
    patients: int
    tz: ZoneInfo
    today: date
    patient_ids: list[int]
    doctors: list[DoctorPlan]
    department_ids: list[int]
    search_terms: list[str]
    booking_from: date
    busy_ahead: dict[int, list[tuple[datetime, datetime]]]
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: psycopg.Connection, database: str, patients: int) -> Hospital:
        tz = ZoneInfo(shapes.TIMEZONE)
        today = datetime.now(tz).date()
        rng = random.Random(7)
        sample = conn.execute(
            "SELECT id, first_name, last_name, mrn, email FROM patients "
            "WHERE archived_at IS NULL ORDER BY random() LIMIT 20000"
        ).fetchall()
        doctors = _doctors(conn)
        departments = sorted({d.department_id for d in doctors if d.is_active})
        # Bookings go after the last active appointment anywhere: every run books new
        # slots, on days nobody (no earlier run either) has booked.
        last = conn.execute(
            "SELECT max(end_time) FROM appointments WHERE status IN ('scheduled', 'checked_in')"
        ).fetchone()[0]
        booking_from = max(today, last.astimezone(tz).date() if last else today) + timedelta(days=1)
        counts = {
            table: conn.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", (table,)
            ).fetchone()[0]
            for table in ("patients", "appointments", "audit_events")
        }
        return cls(
            database=database,
            patients=patients,
            tz=tz,
            today=today,
            patient_ids=[row[0] for row in sample],
            doctors=doctors,
            department_ids=departments,
            search_terms=[_term(rng, row) for row in sample[:1000]],
            booking_from=booking_from,
            busy_ahead={},
            counts=counts,
        )


def _doctors(conn: psycopg.Connection) -> list[DoctorPlan]:
    rows = conn.execute(
        "SELECT d.id, d.department_id, d.slot_minutes, d.is_active AND d.archived_at IS NULL, "
        "array_agg(ARRAY[w.weekday::text, w.starts_at::text, w.ends_at::text] "
        "ORDER BY w.weekday, w.starts_at) "
        "FROM doctors d JOIN doctor_working_hours w ON w.doctor_id = d.id "
        "GROUP BY d.id ORDER BY d.id"
    ).fetchall()
    spells = conn.execute(
        "SELECT doctor_id, start_time, end_time FROM doctor_time_off WHERE end_time > now()"
    ).fetchall()
    plans = {
        doctor_id: DoctorPlan(
            id=doctor_id,
            department_id=department_id,
            slot_minutes=slot,
            periods=[(int(w), time.fromisoformat(s), time.fromisoformat(e)) for w, s, e in hours],
            is_active=active,
        )
        for doctor_id, department_id, slot, active, hours in rows
    }
    for doctor_id, start, end in spells:
        if doctor_id in plans:
            plans[doctor_id].time_off.append((start, end))
    return list(plans.values())


def _term(rng: random.Random, row) -> str:
    """What a front desk types to find a patient: a surname, a full name, an MRN, the
    first letters of a surname, or an email."""
    _, first, last, mrn, email = row
    kind = rng.random()
    if kind < 0.40:
        return last.lower()
    if kind < 0.65:
        return f"{first} {last}"
    if kind < 0.80:
        return mrn
    if kind < 0.90 or not email:
        return last[:3].lower()
    return email.split("@")[0]


Lines = list[str]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    role: str
    table: str  # the table whose size the scenario's cost could grow with
    build: Callable[[Hospital, random.Random, int], Lines]  # (hospital, rng, how many)
    kind: str = "read"  # read: latency targets; write: bookings
    distinct: bool = False  # every request must differ (bookings): never replayed
    growth: bool = False  # p50 must not grow with the size (lists, search, access log)
    floored: bool = False  # measured against the floor of the same run ("x floor")


def get(path: str) -> str:
    return f"GET\t{path}"


def _patient_get(h: Hospital, rng: random.Random, n: int) -> Lines:
    return [get(f"/patients/{rng.choice(h.patient_ids)}") for _ in range(n)]


def _patients_page(page: int) -> Callable[[Hospital, random.Random, int], Lines]:
    return lambda h, rng, n: [get(f"/patients?page={page}")]


def _patients_search(h: Hospital, rng: random.Random, n: int) -> Lines:
    return [get(f"/patients?q={quote(rng.choice(h.search_terms))}") for _ in range(n)]


def _doctor_week(h: Hospital, rng: random.Random, n: int) -> Lines:
    first = h.today - timedelta(days=shapes.PAST_DAYS)
    weeks = (shapes.PAST_DAYS + shapes.FUTURE_DAYS) // 7
    lines = []
    for _ in range(n):
        monday = first + timedelta(days=7 * rng.randrange(weeks) - first.weekday())
        sunday = monday + timedelta(days=6)
        lines.append(
            get(
                f"/appointments?doctor_id={shapes.BENCH_DOCTOR_ID}"
                f"&from={monday}&to={sunday}&per_page=100"
            )
        )
    return lines


def _bookings(h: Hospital, rng: random.Random, n: int) -> Lines:
    """n bookings on free grid slots after the last booked day, in time order; patients
    taken in turn from a pool much larger than the doctors at one time can hold, so no
    patient is booked twice at once."""
    slots = free_slots(h.doctors, first_day=h.booking_from, count=n, tz=h.tz, taken=h.busy_ahead)
    pool = rng.sample(h.patient_ids, min(len(h.patient_ids), 10_000))
    lines = []
    for index, (doctor_id, start, end) in enumerate(slots):
        h.busy_ahead.setdefault(doctor_id, []).append((start, end))
        body = {
            "patient_id": pool[index % len(pool)],
            "doctor_id": doctor_id,
            "start_time": start.astimezone(h.tz).isoformat(),
            "reason": "Follow-up",
        }
        lines.append(f"POST\t/appointments\t{json.dumps(body)}")
    return lines


def _doctor_slots(h: Hospital, rng: random.Random, n: int) -> Lines:
    active = [d.id for d in h.doctors if d.is_active]
    return [
        get(
            f"/doctors/{rng.choice(active)}/availability"
            f"?date={h.today + timedelta(days=rng.randrange(28))}&days=14"
        )
        for _ in range(n)
    ]


def _department_slots(h: Hospital, rng: random.Random, n: int) -> Lines:
    return [
        get(
            f"/departments/{rng.choice(h.department_ids)}/availability"
            f"?date={h.today + timedelta(days=1 + rng.randrange(28))}"
        )
        for _ in range(n)
    ]


def _report(
    path: str, days: int = REPORT_DAYS, fmt: str = "json"
) -> Callable[[Hospital, random.Random, int], Lines]:
    def build(h: Hospital, rng: random.Random, n: int) -> Lines:
        first = h.today - timedelta(days=days - 1)
        return [get(f"{path}?from={first}&to={h.today}&format={fmt}")]

    return build


def _own_access_log(h: Hospital, rng: random.Random, n: int) -> Lines:
    return [get(f"/patients/{shapes.BENCH_PATIENT_ID}/access-log")]


def _access_log(h: Hospital, rng: random.Random, n: int) -> Lines:
    return [get(f"/patients/{rng.choice(h.patient_ids)}/access-log") for _ in range(n)]


SCENARIOS = (
    Scenario("patient_get", "GET /patients/{id}: a random patient", "receptionist",
             "patients", _patient_get),
    Scenario("patients_page1", "GET /patients: page 1 (20 by last name)", "receptionist",
             "patients", _patients_page(1), growth=True),
    Scenario("patients_deep", "GET /patients?page=400: rows 7 981-8 000", "receptionist",
             "patients", _patients_page(400), growth=True),
    Scenario("patients_search", "GET /patients?q=...: surname, full name, MRN, prefix, email",
             "receptionist", "patients", _patients_search, growth=True),
    Scenario("doctor_week", "GET /appointments: the doctor's own week, per_page=100",
             "doctor", "appointments", _doctor_week, growth=True),
    Scenario("doctor_slots_14d", "GET /doctors/{id}/availability?days=14", "receptionist",
             "appointments", _doctor_slots),
    Scenario("department_slots_day", "GET /departments/{id}/availability: one day",
             "receptionist", "appointments", _department_slots),
    Scenario("appointment_post", "POST /appointments: a free slot, a free patient",
             "receptionist", "appointments", _bookings, kind="write", distinct=True),
    Scenario("report_overview", "GET /reports/overview: one year", "receptionist",
             "appointments", _report("/reports/overview")),
    Scenario("report_departments", "GET /reports/departments: one year", "receptionist",
             "appointments", _report("/reports/departments")),
    Scenario("report_doctors", "GET /reports/doctors: one year", "receptionist",
             "appointments", _report("/reports/doctors")),
    Scenario("report_daily", "GET /reports/appointments/daily: one year", "receptionist",
             "appointments", _report("/reports/appointments/daily")),
    Scenario("report_demographics", "GET /reports/patients/demographics", "receptionist",
             "patients", _report("/reports/patients/demographics")),
    Scenario("chart_daily_3y", "GET /reports/appointments/daily?format=png: three years "
             "(monthly bars)", "receptionist", "appointments",
             _report("/reports/appointments/daily", CHART_DAYS, "png"), floored=True),
    Scenario("chart_daily_90d", "GET /reports/appointments/daily?format=png: 90 days "
             "(daily bars)", "receptionist", "appointments",
             _report("/reports/appointments/daily", 90, "png"), floored=True),
    Scenario("chart_doctors", "GET /reports/doctors?format=png: one year, a bar per doctor",
             "receptionist", "appointments", _report("/reports/doctors", fmt="png"),
             floored=True),
    Scenario("access_log_own", "GET /patients/{own id}/access-log: the patient's own",
             "patient", "audit_events", _own_access_log, growth=True),
    Scenario("access_log_admin", "GET /patients/{id}/access-log: a random patient's",
             "admin", "audit_events", _access_log, growth=True),
)  # fmt: skip
FLOOR = Scenario(
    "floor_patient_get", "the floor: bare WSGI + psycopg, the same SELECT", "", "patients",
    _patient_get,
)  # fmt: skip
FLASK_FLOOR = Scenario(
    "flask_floor_patient_get", "the floor's work as a bare Flask view", "", "patients",
    _patient_get,
)  # fmt: skip


def select(names: str | None) -> list[Scenario]:
    """Scenarios whose name starts with any of the comma-separated prefixes (all: None)."""
    if not names:
        return list(SCENARIOS)
    prefixes = [name.strip() for name in names.split(",") if name.strip()]
    chosen = [s for s in SCENARIOS if any(s.name.startswith(p) for p in prefixes)]
    if not chosen:
        known = ", ".join(s.name for s in SCENARIOS)
        raise SystemExit(f"No scenario matches {names!r}. Known: {known}")
    return chosen
