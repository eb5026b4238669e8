"""The reports, proved to the unit against a small hospital whose every figure is known.

The hospital is built once per backend in a database of its own, in hospital time UTC,
around one past week: Monday M to Sunday M+6, three weeks back.

Cardiology: Dr Ada Adams, Mon-Fri 09:00-12:00 and 13:00-17:00 (420 minutes a day),
    time off Sun M-1 20:00 to Mon 10:00 (60 minutes of it in the week), two
    overlapping spells on Friday, 11:00-14:00 and 11:30-12:30 (120 minutes together),
    and a day the week after: 2100 - 60 - 120 = 1920 available minutes;
    Dr Bob Baker, Mon and Wed 09:00-13:00, time off Wed 10:00-14:00: 480 - 180 = 300.
Neurology: Dr Cy Clark, inactive, no working hours (0 available minutes); an archived
    doctor with working hours, who counts nowhere.

Appointments in the week (lead = days from booking to start):

    doctor  patient  day  time   min  status      lead
    Adams   P1       Mon  09:00  30   completed   7
    Adams   P2       Mon  10:00  60   no_show     2
    Adams   P1       Tue  09:00  30   completed   1
    Adams   P5       Wed  14:00  45   cancelled   3
    Adams   P7       Thu  09:00  30   checked_in  0.5
    Adams   P2       Fri  09:00  20   scheduled   4
    Adams   P5       Sun  23:30  30   scheduled   1
    Baker   P3       Mon  09:00  60   completed   10
    Baker   P7       Wed  09:00  30   no_show     5
    Baker   P1       Wed  12:00  30   cancelled   2
    Clark   P8       Tue  15:00  40   cancelled   6
    Clark   P6       Thu  10:00  25   scheduled   3

plus an archived one (Thu) and two just outside the week (Sun M-1 23:59, Mon M+7 00:00).

Patients (department; gender; age on Sunday M+6): P1 (C; female; 18 that day),
P2 (C; male; 17, 18 the day after), P3 (N; female; 35 that day), P4 (none; other; 34),
P5 (C; male; 50 that day), P6 (N; unknown; 49), P7 (C; female; 65 that day),
P8 (N; male; 64), P9 (C; female; 70; archived). Created in the week: P1 (Tue 08:00),
P3 (Sun 23:59) and the archived P9; P2 at 23:59 the Sunday before; the rest today.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import func, select

from meditrack import create_app
from meditrack.audit.models import AuditEvent
from meditrack.extensions import db
from tests import conftest
from tests.api_helpers import assert_problem
from tests.report_helpers import (
    CHARTED,
    PNG_SIGNATURE,
    REPORTS,
    at,
    csv_table,
    figures,
    flat,
    insert_time_off,
    monday_weeks_ago,
    png_size,
    report,
    sign_up,
    touch_appointment,
    touch_patient,
    years_before,
)

WEEKDAYS = [(weekday, "09:00", "12:00") for weekday in range(5)] + [
    (weekday, "13:00", "17:00") for weekday in range(5)
]
DOCTOR_REPORTS = ("doctors", "appointments/daily")
HOSPITAL_WIDE = tuple(name for name in REPORTS if name not in DOCTOR_REPORTS)
STATUS_KEYS = ("total", "scheduled", "checked_in", "completed", "cancelled", "no_show")
NEUROLOGY = 'Neurology, "East"'  # a comma and quotes, for the CSV


def hours(*periods: tuple[int, str, str]) -> list[dict]:
    return [{"weekday": day, "start": start, "end": end} for day, start, end in periods]


def counts(**values: int) -> dict:
    """Status counts with zeros filled in and the total added."""
    row = {key: values.get(key, 0) for key in STATUS_KEYS[1:]}
    return {"total": sum(row.values()), **row}


@dataclass
class Hospital:
    app: Flask
    client: FlaskClient
    monday: date
    departments: dict[str, int] = field(default_factory=dict)
    doctors: dict[str, int] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)

    @property
    def sunday(self) -> date:
        return self.day(6)

    @property
    def week(self) -> dict:
        return {"start": self.monday, "to": self.sunday}

    def day(self, offset: int) -> date:
        return self.monday + timedelta(days=offset)

    def get(self, role: str, name: str, **query):
        return report(self.client, self.accounts[role], name, **query)

    def figures(self, role: str, name: str, **query):
        return figures(self.client, self.accounts[role], name, **query)


@pytest.fixture(scope="module")
def hospital_app(backend, tmp_path_factory):
    """An application on a database of its own, built once per module and backend: the
    hospital is only read (exports add audit events, which no report counts), so its
    tests share it. Tests that need other data use the `app` fixture's database."""
    name = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'hospital.db'}"
    else:
        name = f"{conftest._database_name()}_reports"
        url = conftest._create_postgres_database(name)
    app = create_app({**conftest.TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if name:
        conftest._drop_postgres_database(name)


@pytest.fixture(scope="module")
def hospital(hospital_app) -> Hospital:
    app = hospital_app
    client = app.test_client()
    monday = monday_weeks_ago(3)
    h = Hospital(app=app, client=client, monday=monday)
    day = h.day
    h.accounts = {
        key: sign_up(app, role, f"{key.replace(' ', '.')}@reports.example.org")
        for key, role in [
            ("admin", "admin"),
            ("receptionist", "receptionist"),
            ("doctor", "doctor"),
            ("patient", "patient"),
            ("unlinked doctor", "doctor"),
        ]
    }
    admin = h.accounts["admin"]
    factory = conftest.Factory(app, client, admin)

    cardiology = factory.department(name="Cardiology")["id"]
    neurology = factory.department(name=NEUROLOGY)["id"]
    h.departments = {"Cardiology": cardiology, "Neurology": neurology}

    def doctor(first, last, department, periods, **extra) -> int:
        return factory.doctor(
            first_name=first,
            last_name=last,
            department_id=department,
            working_hours=hours(*periods),
            **extra,
        )["id"]

    h.doctors = {
        "Adams": doctor("Ada", "Adams", cardiology, WEEKDAYS, user_id=h.accounts["doctor"].id),
        "Baker": doctor("Bob", "Baker", cardiology, [(0, "09:00", "13:00"), (2, "09:00", "13:00")]),
        "Clark": doctor("Cy", "Clark", neurology, [], is_active=False),
        "Archived": doctor("Old", "Archived", neurology, WEEKDAYS),
    }
    response = client.delete(f"/doctors/{h.doctors['Archived']}", headers=admin.headers)
    assert response.status_code == 204

    adams, baker, clark = h.doctors["Adams"], h.doctors["Baker"], h.doctors["Clark"]
    insert_time_off(app, adams, at(day(-1), "20:00"), at(day(0), "10:00"))
    insert_time_off(app, adams, at(day(4), "11:00"), at(day(4), "14:00"))
    insert_time_off(app, adams, at(day(4), "11:30"), at(day(4), "12:30"))
    insert_time_off(app, adams, at(day(7), "09:00"), at(day(7), "17:00"))
    insert_time_off(app, baker, at(day(2), "10:00"), at(day(2), "14:00"))

    sunday = h.sunday
    people = {
        "P1": ("female", years_before(sunday, 18), cardiology),
        "P2": ("male", years_before(sunday, 18) + timedelta(days=1), cardiology),
        "P3": ("female", years_before(sunday, 35), neurology),
        "P4": ("other", years_before(sunday, 35) + timedelta(days=1), None),
        "P5": ("male", years_before(sunday, 50), cardiology),
        "P6": (None, years_before(sunday, 50) + timedelta(days=1), neurology),
        "P7": ("female", years_before(sunday, 65), cardiology),
        "P8": ("male", years_before(sunday, 65) + timedelta(days=1), neurology),
        "P9": ("female", years_before(sunday, 70), cardiology),
    }
    for name, (gender, born, department) in people.items():
        body = {"first_name": name, "date_of_birth": born.isoformat(), "department_id": department}
        if gender is not None:
            body["gender"] = gender
        h.patients[name] = factory.patient(**body)["id"]
    assert client.delete(f"/patients/{h.patients['P9']}", headers=admin.headers).status_code == 204
    p = h.patients
    touch_patient(app, p["P1"], created_at=at(day(1), "08:00"))
    touch_patient(app, p["P3"], created_at=at(day(6), "23:59"))
    touch_patient(app, p["P2"], created_at=at(day(-1), "23:59"))
    touch_patient(app, p["P9"], created_at=at(day(2), "10:00"))

    def appointment(doctor_id, patient, start, minutes, status, lead_days, **extra) -> None:
        appointment_id = factory.appointment(
            patient_id=p[patient], doctor_id=doctor_id, start=start, minutes=minutes, status=status
        )
        touch_appointment(
            app, appointment_id, created_at=start - timedelta(days=lead_days), **extra
        )

    appointment(adams, "P1", at(day(0), "09:00"), 30, "completed", 7)
    appointment(adams, "P2", at(day(0), "10:00"), 60, "no_show", 2)
    appointment(adams, "P1", at(day(1), "09:00"), 30, "completed", 1)
    appointment(adams, "P5", at(day(2), "14:00"), 45, "cancelled", 3)
    appointment(adams, "P7", at(day(3), "09:00"), 30, "checked_in", 0.5)
    appointment(adams, "P2", at(day(4), "09:00"), 20, "scheduled", 4)
    appointment(adams, "P5", at(day(6), "23:30"), 30, "scheduled", 1)
    appointment(baker, "P3", at(day(0), "09:00"), 60, "completed", 10)
    appointment(baker, "P7", at(day(2), "09:00"), 30, "no_show", 5)
    appointment(baker, "P1", at(day(2), "12:00"), 30, "cancelled", 2)
    appointment(clark, "P8", at(day(1), "15:00"), 40, "cancelled", 6)
    appointment(clark, "P6", at(day(3), "10:00"), 25, "scheduled", 3)
    # Left out: archived, and just before and just after the week.
    appointment(
        adams, "P1", at(day(3), "11:00"), 30, "completed", 1, archived_at=at(day(5), "12:00")
    )
    appointment(adams, "P1", at(day(-1), "23:59"), 30, "completed", 1)
    appointment(baker, "P3", at(day(7), "00:00"), 30, "scheduled", 1)
    return h


# The figures the hospital must produce ---------------------------------------------------


def expected_overview(h: Hospital, scope: str) -> dict:
    week = {"from": h.monday.isoformat(), "to": h.sunday.isoformat()}
    return {
        "whole hospital": {
            **week,
            "patients_total": 8,
            "patients_new": 2,
            "doctors_active": 2,
            "departments": 2,
            "appointments": counts(scheduled=3, checked_in=1, completed=3, cancelled=3, no_show=2),
            "no_show_rate": 0.4,  # 2 / (3 + 2)
            "cancellation_rate": 0.25,  # 3 / 12
            "utilization": 0.1419,  # 315 / (1920 + 300)
            "avg_lead_time_days": 3.71,  # 44.5 / 12
        },
        "Cardiology": {
            **week,
            "patients_total": 4,
            "patients_new": 1,
            "doctors_active": 2,
            "departments": 1,
            "appointments": counts(scheduled=2, checked_in=1, completed=3, cancelled=2, no_show=2),
            "no_show_rate": 0.4,
            "cancellation_rate": 0.2,
            "utilization": 0.1306,  # 290 / 2220
            "avg_lead_time_days": 3.55,  # 35.5 / 10
        },
        "Neurology": {
            **week,
            "patients_total": 3,
            "patients_new": 1,
            "doctors_active": 0,
            "departments": 1,
            "appointments": counts(scheduled=1, cancelled=1),
            "no_show_rate": None,  # no completed, no no-show
            "cancellation_rate": 0.5,
            "utilization": None,  # nobody in Neurology has working hours
            "avg_lead_time_days": 4.5,
        },
        "Baker": {
            **week,
            "patients_total": 8,
            "patients_new": 2,
            "doctors_active": 1,
            "departments": 2,
            "appointments": counts(completed=1, cancelled=1, no_show=1),
            "no_show_rate": 0.5,
            "cancellation_rate": 0.3333,
            "utilization": 0.3,  # 90 / 300
            "avg_lead_time_days": 5.67,  # 17 / 3
        },
    }[scope]


def expected_departments(h: Hospital) -> list[dict]:
    return [
        {
            "department_id": h.departments["Cardiology"],
            "name": "Cardiology",
            "doctors": 2,
            "patients": 4,
            "appointments": 10,
            "completed": 3,
            "cancelled": 2,
            "no_show": 2,
            "no_show_rate": 0.4,
            "booked_minutes": 290,
            "available_minutes": 2220,
            "utilization": 0.1306,
        },
        {
            "department_id": h.departments["Neurology"],
            "name": NEUROLOGY,
            "doctors": 1,
            "patients": 3,
            "appointments": 2,
            "completed": 0,
            "cancelled": 1,
            "no_show": 0,
            "no_show_rate": None,
            "booked_minutes": 25,
            "available_minutes": 0,
            "utilization": None,
        },
    ]


def expected_doctors(h: Hospital) -> list[dict]:
    cardiology, neurology = h.departments["Cardiology"], h.departments["Neurology"]
    return [
        {
            "doctor_id": h.doctors["Adams"],
            "name": "Ada Adams",
            "department_id": cardiology,
            "appointments": 7,
            "completed": 2,
            "cancelled": 1,
            "no_show": 1,
            "no_show_rate": 0.3333,
            "unique_patients": 4,
            "booked_minutes": 200,
            "available_minutes": 1920,
            "utilization": 0.1042,
        },
        {
            "doctor_id": h.doctors["Baker"],
            "name": "Bob Baker",
            "department_id": cardiology,
            "appointments": 3,
            "completed": 1,
            "cancelled": 1,
            "no_show": 1,
            "no_show_rate": 0.5,
            "unique_patients": 3,
            "booked_minutes": 90,
            "available_minutes": 300,
            "utilization": 0.3,
        },
        {
            "doctor_id": h.doctors["Clark"],
            "name": "Cy Clark",
            "department_id": neurology,
            "appointments": 2,
            "completed": 0,
            "cancelled": 1,
            "no_show": 0,
            "no_show_rate": None,
            "unique_patients": 2,
            "booked_minutes": 25,
            "available_minutes": 0,
            "utilization": None,
        },
    ]


def expected_daily(h: Hospital, scope: str) -> list[dict]:
    days = {
        "whole hospital": [
            counts(completed=2, no_show=1),
            counts(completed=1, cancelled=1),
            counts(cancelled=2, no_show=1),
            counts(checked_in=1, scheduled=1),
            counts(scheduled=1),
            counts(),
            counts(scheduled=1),  # Sunday 23:30
        ],
        "Adams": [
            counts(completed=1, no_show=1),
            counts(completed=1),
            counts(cancelled=1),
            counts(checked_in=1),
            counts(scheduled=1),
            counts(),
            counts(scheduled=1),
        ],
    }[scope]
    return [{"date": h.day(n).isoformat(), **row} for n, row in enumerate(days)]


def band_rows(**bands: dict) -> list[dict]:
    """Demographics rows: {"b18_34": {"female": 1}} and the like, zeros filled in."""
    rows = []
    for band in ("0-17", "18-34", "35-49", "50-64", "65+"):
        genders = bands.get("b" + band.replace("-", "_").replace("+", "_up"), {})
        row = {gender: genders.get(gender, 0) for gender in ("female", "male", "other", "unknown")}
        rows.append({"age_band": band, **row, "total": sum(row.values())})
    return rows


EVERYONE_ON_SUNDAY = band_rows(
    b0_17={"male": 1},
    b18_34={"female": 1, "other": 1},
    b35_49={"female": 1, "unknown": 1},
    b50_64={"male": 2},
    b65_up={"female": 1},
)


# Overview ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_overview_of_the_week(hospital, role):
    body = hospital.figures(role, "overview", **hospital.week)
    assert body == expected_overview(hospital, "whole hospital")
    assert list(body) == [
        "from",
        "to",
        "patients_total",
        "patients_new",
        "doctors_active",
        "departments",
        "appointments",
        "no_show_rate",
        "cancellation_rate",
        "utilization",
        "avg_lead_time_days",
    ]


@pytest.mark.parametrize("scope", ["Cardiology", "Neurology", "Baker"])
def test_overview_narrowed(hospital, scope):
    if scope in hospital.departments:
        query = {"department_id": hospital.departments[scope]}
    else:
        query = {"doctor_id": hospital.doctors[scope]}
    body = hospital.figures("admin", "overview", **hospital.week, **query)
    assert body == expected_overview(hospital, scope)


def test_overview_of_a_day_without_appointments_has_null_rates(hospital):
    saturday = hospital.day(5)
    body = hospital.figures("admin", "overview", start=saturday, to=saturday)
    assert body == {
        "from": saturday.isoformat(),
        "to": saturday.isoformat(),
        "patients_total": 8,
        "patients_new": 0,
        "doctors_active": 2,
        "departments": 2,
        "appointments": counts(),
        "no_show_rate": None,
        "cancellation_rate": None,
        "utilization": None,
        "avg_lead_time_days": None,
    }


def test_one_day_counts_from_midnight_to_midnight(hospital):
    """Sunday holds the 23:30 appointment and not the one at 00:00 the next Monday, and
    the patient created at 23:59 but not the one created at 23:59 the Sunday before."""
    sunday = hospital.sunday
    body = hospital.figures("admin", "overview", start=sunday, to=sunday)
    assert body["appointments"] == counts(scheduled=1)
    assert body["patients_new"] == 1
    assert body["utilization"] is None  # nobody works on Sundays


# Departments and doctors ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_departments_of_the_week(hospital, role):
    assert hospital.figures(role, "departments", **hospital.week) == expected_departments(hospital)


@pytest.mark.parametrize("name", ["Cardiology", "Neurology"])
def test_departments_filtered_by_department(hospital, name):
    department_id = hospital.departments[name]
    body = hospital.figures("admin", "departments", **hospital.week, department_id=department_id)
    assert body == [
        row for row in expected_departments(hospital) if row["department_id"] == department_id
    ]


def test_departments_on_one_day(hospital):
    """Monday: Adams works 420 - 60 minutes, Baker 240; Neurology has no appointment."""
    monday = hospital.monday
    body = hospital.figures("admin", "departments", start=monday, to=monday)
    workload = [{key: row[key] for key in list(row)[4:]} for row in body]
    assert workload == [
        {
            "appointments": 3,
            "completed": 2,
            "cancelled": 0,
            "no_show": 1,
            "no_show_rate": 0.3333,
            "booked_minutes": 150,
            "available_minutes": 600,
            "utilization": 0.25,
        },
        {
            "appointments": 0,
            "completed": 0,
            "cancelled": 0,
            "no_show": 0,
            "no_show_rate": None,
            "booked_minutes": 0,
            "available_minutes": 0,
            "utilization": None,
        },
    ]
    assert [(row["doctors"], row["patients"]) for row in body] == [(2, 4), (1, 3)]


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_doctors_of_the_week(hospital, role):
    assert hospital.figures(role, "doctors", **hospital.week) == expected_doctors(hospital)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"department_id": "Cardiology"}, ["Ada Adams", "Bob Baker"]),
        ({"department_id": "Neurology"}, ["Cy Clark"]),
        ({"doctor_id": "Baker"}, ["Bob Baker"]),
        ({"doctor_id": "Archived"}, []),
    ],
)
def test_doctors_filtered(hospital, query, names):
    ids = {**hospital.departments, **hospital.doctors}
    query = {key: ids[value] for key, value in query.items()}
    body = hospital.figures("admin", "doctors", **hospital.week, **query)
    assert body == [row for row in expected_doctors(hospital) if row["name"] in names]


def test_overlapping_time_off_is_taken_off_once(hospital):
    """Friday: 420 working minutes; the two spells of time off together cover
    11:00-14:00, which takes 120 of them."""
    friday = hospital.day(4)
    body = hospital.figures(
        "admin", "doctors", start=friday, to=friday, doctor_id=hospital.doctors["Adams"]
    )
    assert [(row["available_minutes"], row["booked_minutes"]) for row in body] == [(300, 20)]
    assert body[0]["utilization"] == round(20 / 300, 4)


@pytest.mark.parametrize("report_name", REPORTS)
@pytest.mark.parametrize("name", ["department_id", "doctor_id"])
def test_unknown_filter_ids_are_422_naming_the_field(hospital, report_name, name):
    response = hospital.get("admin", report_name, **{name: 999_999})
    assert_problem(response, 422, "validation_error", name)


# Appointments per day ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_daily_has_a_row_for_every_day(hospital, role):
    body = hospital.figures(role, "appointments/daily", **hospital.week)
    assert body == expected_daily(hospital, "whole hospital")


def test_daily_filtered_by_department(hospital):
    body = hospital.figures(
        "admin",
        "appointments/daily",
        **hospital.week,
        department_id=hospital.departments["Neurology"],
    )
    assert [row["total"] for row in body] == [0, 1, 0, 1, 0, 0, 0]
    assert [row["cancelled"] for row in body] == [0, 1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("zone", "late_utc_day"),
    [("America/New_York", 1), ("Europe/Berlin", 0), ("Asia/Kolkata", 0)],
)
def test_daily_counts_by_the_start_date_in_hospital_time(
    app, client, factory, admin, monkeypatch, zone, late_utc_day
):
    """00:30 and 23:30 local on each of three days: two a day, whatever UTC says."""
    tz = ZoneInfo(zone)
    monkeypatch.setitem(app.config, "MEDITRACK_TIMEZONE", zone)
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", tz)
    doctor = factory.doctor()["id"]
    patient = factory.patient()["id"]
    first = datetime.now(UTC).date() - timedelta(days=10)
    days = [first + timedelta(days=n) for n in range(3)]
    outside = [
        at(first - timedelta(days=1), "23:30", tz),
        at(days[-1] + timedelta(days=1), "00:30", tz),
    ]
    inside = [at(day, clock, tz) for day in days for clock in ("00:30", "23:30")]
    for start in outside + inside:
        factory.appointment(patient_id=patient, doctor_id=doctor, start=start)
    # In New York 23:30 is already the next day in UTC; east of Greenwich 00:30 is not yet.
    assert at(days[0], "23:30", tz).astimezone(UTC).date() == days[late_utc_day]
    assert at(days[1], "00:30", tz).astimezone(UTC).date() == days[late_utc_day]

    body = figures(client, admin, "appointments/daily", start=days[0], to=days[-1])
    assert body == [{"date": day.isoformat(), **counts(scheduled=2)} for day in days]


# Daylight saving time ---------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(app, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_TIMEZONE", "Europe/Berlin")
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", BERLIN)
    return BERLIN


@pytest.mark.parametrize(
    ("day", "period", "time_off", "available"),
    [
        pytest.param("2025-03-29", ("01:00", "04:00"), None, 180, id="Saturday before spring"),
        pytest.param("2025-03-30", ("01:00", "04:00"), None, 120, id="spring forward"),
        pytest.param("2025-10-26", ("01:00", "04:00"), None, 240, id="fall back"),
        pytest.param("2025-03-23", ("00:00", "23:59"), None, 1439, id="ordinary Sunday"),
        pytest.param("2025-03-30", ("00:00", "23:59"), None, 1379, id="spring, whole day"),
        pytest.param("2025-10-26", ("00:00", "23:59"), None, 1499, id="autumn, whole day"),
        # 00:00-02:00 UTC is 02:00 summer time to 02:00 winter time: two real hours.
        pytest.param(
            "2025-10-26",
            ("01:00", "04:00"),
            ("2025-10-26T00:00:00+00:00", "2025-10-26T02:00:00+00:00"),
            120,
            id="fall back, time off over the repeated hour",
        ),
    ],
)
def test_available_minutes_on_dst_days(
    app, client, factory, admin, berlin, day, period, time_off, available
):
    day = date.fromisoformat(day)
    doctor = factory.doctor(working_hours=hours((day.weekday(), *period)))["id"]
    patient = factory.patient()["id"]
    if time_off:
        insert_time_off(app, doctor, *map(datetime.fromisoformat, time_off))
    # An hour from 01:00 local: sixty real minutes booked, even on a DST day.
    factory.appointment(
        patient_id=patient, doctor_id=doctor, start=at(day, "01:00", berlin), minutes=60
    )

    (row,) = figures(client, admin, "doctors", start=day, to=day)
    assert row["available_minutes"] == available
    assert row["booked_minutes"] == 60
    assert row["utilization"] == round(60 / available, 4)


@pytest.mark.parametrize("first", ["2025-03-29", "2025-10-25"])
def test_daily_across_a_dst_change(client, factory, admin, berlin, first):
    """The day before, the day of and the day after the change: 00:30 and 23:30 each."""
    first = date.fromisoformat(first)
    days = [first + timedelta(days=n) for n in range(3)]
    doctor = factory.doctor()["id"]
    patient = factory.patient()["id"]
    for day in [first - timedelta(days=1), *days, first + timedelta(days=3)]:
        for clock in ("00:30", "23:30"):
            factory.appointment(
                patient_id=patient, doctor_id=doctor, start=at(day, clock, berlin), minutes=20
            )

    body = figures(client, admin, "appointments/daily", start=days[0], to=days[-1])
    assert body == [{"date": day.isoformat(), **counts(scheduled=2)} for day in days]


# Patients by age band ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_demographics_on_the_to_date(hospital, role):
    body = hospital.figures(role, "patients/demographics", **hospital.week)
    assert body == EVERYONE_ON_SUNDAY


def test_demographics_a_day_later_moves_the_birthdays(hospital):
    monday = hospital.sunday + timedelta(days=1)
    body = hospital.figures("admin", "patients/demographics", start=monday, to=monday)
    assert body == band_rows(
        b18_34={"female": 1, "male": 1},
        b35_49={"female": 1, "other": 1},
        b50_64={"male": 1, "unknown": 1},
        b65_up={"female": 1, "male": 1},
    )


@pytest.mark.parametrize("days_back", [0, 1, 400, 1000])
def test_demographics_ignores_the_start_of_the_range(hospital, days_back):
    start = hospital.sunday - timedelta(days=days_back)
    body = hospital.figures("admin", "patients/demographics", start=start, to=hospital.sunday)
    assert body == EVERYONE_ON_SUNDAY


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Cardiology",
            band_rows(
                b0_17={"male": 1}, b18_34={"female": 1}, b50_64={"male": 1}, b65_up={"female": 1}
            ),
        ),
        ("Neurology", band_rows(b35_49={"female": 1, "unknown": 1}, b50_64={"male": 1})),
    ],
)
def test_demographics_by_department(hospital, name, expected):
    body = hospital.figures(
        "admin",
        "patients/demographics",
        **hospital.week,
        department_id=hospital.departments[name],
    )
    assert body == expected


def test_demographics_on_a_leap_day(client, factory, admin):
    """On 29 February 2024, someone born 28 February 2006 is 18, born 1 March 2006 is 17;
    someone born after that day is left out."""
    for born in ("2006-02-28", "2006-03-01", "2005-03-01", "2024-03-01"):
        factory.patient(date_of_birth=born, gender="female")
    body = figures(client, admin, "patients/demographics", to=date(2024, 2, 29))
    assert body == band_rows(b0_17={"female": 1}, b18_34={"female": 2})


# Range ------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_default_range_is_the_30_days_ending_today(hospital, monkeypatch, zone):
    """Today in hospital time: UTC+14 and UTC-11 are on different dates most of the day."""
    tz = ZoneInfo(zone)
    monkeypatch.setitem(hospital.app.config, "MEDITRACK_TIMEZONE", zone)
    monkeypatch.setitem(hospital.app.config, "HOSPITAL_TZ", tz)
    body = hospital.figures("admin", "overview")
    daily = hospital.figures("receptionist", "appointments/daily")
    today = datetime.now(tz).date()
    assert (body["from"], body["to"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )
    assert [row["date"] for row in daily] == [
        (today - timedelta(days=29 - n)).isoformat() for n in range(30)
    ]


def test_only_to_given_starts_29_days_before(hospital):
    body = hospital.figures("admin", "overview", to="2025-03-31")
    assert (body["from"], body["to"]) == ("2025-03-02", "2025-03-31")


@pytest.mark.parametrize("days_ago", [0, 5, 29, 1000])
def test_only_from_given_runs_to_today(hospital, days_ago):
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days_ago)
    body = hospital.figures("admin", "overview", start=start)
    assert (body["from"], body["to"]) == (start.isoformat(), today.isoformat())


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        ({"from": "2025-03-10", "to": "2025-03-09"}, "to"),
        ({"from": "2021-01-01", "to": "2024-01-01"}, "to"),  # three years and a day
        ({"from": "2024-02-29", "to": "2027-03-01"}, "to"),
        ({"from": "2025-02-30"}, "from"),
        ({"to": "2025-13-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-3-1"}, "from"),
        ({"to": "2025-03-01T00:00:00"}, "to"),
        ({"from": "2999-01-01"}, "from"),  # after today, where the range would end
        ({"from": "2000-01-01"}, "from"),  # to today: far more than three years
        ({"department_id": "x"}, "department_id"),
        ({"doctor_id": "0"}, "doctor_id"),
        ({"format": "xml"}, "format"),
        ({"format": "PNG"}, "format"),
    ],
)
@pytest.mark.parametrize("report_name", REPORTS)
def test_bad_queries_are_422(hospital, report_name, query, field_name):
    response = hospital.client.get(
        f"/reports/{report_name}", query_string=query, headers=hospital.accounts["admin"].headers
    )
    assert_problem(response, 422, "validation_error", field_name)


@pytest.mark.parametrize(
    ("start", "end"),
    [("2021-01-01", "2023-12-31"), ("2024-02-29", "2027-02-28"), ("2025-03-01", "2025-03-01")],
)
def test_ranges_up_to_three_years_are_fine(hospital, start, end):
    body = hospital.figures("admin", "overview", start=start, to=end)
    assert (body["from"], body["to"]) == (start, end)


@pytest.mark.parametrize("report_name", REPORTS)
def test_a_three_year_report(hospital, report_name):
    body = hospital.figures("admin", report_name, start="2021-01-01", to="2023-12-31")
    if report_name == "appointments/daily":
        assert len(body) == 365 * 3
        assert (body[0]["date"], body[-1]["date"]) == ("2021-01-01", "2023-12-31")
        assert sum(row["total"] for row in body) == 0
    elif report_name == "doctors":
        # 156 weeks and three days, Friday 1 January 2021 to Sunday: Adams works 157
        # Fridays and 156 of each other weekday, Baker 156 Mondays and Wednesdays.
        assert [row["available_minutes"] for row in body] == [(156 * 5 + 1) * 420, 156 * 480, 0]


def test_png_of_the_overview_is_422(hospital):
    response = hospital.get("admin", "overview", format="png")
    assert_problem(response, 422, "validation_error", "format")


# Who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("report_name", REPORTS)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_patients_see_no_report(hospital, report_name, fmt):
    response = hospital.get("patient", report_name, **hospital.week, format=fmt)
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("report_name", HOSPITAL_WIDE)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_doctors_do_not_see_hospital_wide_reports(hospital, report_name, fmt):
    response = hospital.get("doctor", report_name, format=fmt)
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("own_id", [False, True])
def test_a_doctor_sees_their_own_row(hospital, own_id):
    query = {"doctor_id": hospital.doctors["Adams"]} if own_id else {}
    body = hospital.figures("doctor", "doctors", **hospital.week, **query)
    assert body == expected_doctors(hospital)[:1]


def test_a_doctor_sees_their_own_days(hospital):
    body = hospital.figures("doctor", "appointments/daily", **hospital.week)
    assert body == expected_daily(hospital, "Adams")


@pytest.mark.parametrize("report_name", DOCTOR_REPORTS)
@pytest.mark.parametrize("account", ["doctor", "unlinked doctor"])
def test_a_doctor_asking_for_another_doctor_is_403(hospital, report_name, account):
    response = hospital.get(account, report_name, doctor_id=hospital.doctors["Baker"])
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("report_name", DOCTOR_REPORTS)
def test_a_doctor_login_without_a_doctor_record_is_403(hospital, report_name):
    assert_problem(hospital.get("unlinked doctor", report_name), 403, "forbidden")


# CSV and PNG ------------------------------------------------------------------------------


def _events_after(app, last_id: int) -> list[tuple]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(
                    AuditEvent.action,
                    AuditEvent.resource_type,
                    AuditEvent.actor_id,
                    AuditEvent.actor_role,
                    AuditEvent.outcome,
                )
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
            )
        ]


def _last_event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def _file_name(hospital: Hospital, report_name: str, fmt: str) -> str:
    stem = f"meditrack-{report_name.replace('/', '-')}-{hospital.monday}-to-{hospital.sunday}"
    return f'attachment; filename="{stem}.{fmt}"'


@pytest.mark.parametrize("report_name", REPORTS)
@pytest.mark.parametrize("department", [None, "Neurology"])
def test_csv_carries_the_json_figures(hospital, report_name, department):
    query = {"department_id": hospital.departments[department]} if department else {}
    data = hospital.figures("admin", report_name, **hospital.week, **query)
    response = hospital.get("admin", report_name, **hospital.week, **query, format="csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == _file_name(hospital, report_name, "csv")
    rows = data if isinstance(data, list) else [data]
    header, table = csv_table(response.data)
    assert header == list(flat(rows[0]))
    assert table == [flat(row) for row in rows]


def test_csv_of_the_overview_flattens_and_leaves_nulls_empty(hospital):
    response = hospital.get(
        "receptionist",
        "overview",
        **hospital.week,
        department_id=hospital.departments["Neurology"],
        format="csv",
    )
    _, (row,) = csv_table(response.data)
    assert row["appointments_total"] == "2"
    assert row["appointments_cancelled"] == "1"
    assert row["cancellation_rate"] == "0.5"
    assert row["doctors_active"] == "0"
    assert row["no_show_rate"] == row["utilization"] == ""
    assert "appointments" not in row


def test_csv_of_a_doctor_holds_their_row_only(hospital):
    response = hospital.get("doctor", "doctors", **hospital.week, format="csv")
    _, table = csv_table(response.data)
    assert table == [flat(expected_doctors(hospital)[0])]


@pytest.mark.parametrize("report_name", ["doctors", "departments"])
def test_csv_without_rows_still_has_its_header(client, admin, report_name):
    response = report(client, admin, report_name, format="csv")
    header, table = csv_table(response.data)
    assert table == []
    assert header[0] == report_name[:-1] + "_id"
    assert header[-1] == "utilization"


@pytest.mark.parametrize("report_name", CHARTED)
def test_png_charts(hospital, report_name):
    """A chart, 11 by 5.5 inches at 100 dpi; like every export, audited once."""
    last = _last_event_id(hospital.app)
    response = hospital.get("receptionist", report_name, **hospital.week, format="png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(PNG_SIGNATURE)
    assert png_size(response.data) == (1100, 550)
    assert response.headers["Content-Disposition"] == _file_name(hospital, report_name, "png")
    account = hospital.accounts["receptionist"]
    assert _events_after(hospital.app, last) == [
        ("export", "report", account.id, "receptionist", "success")
    ]


def test_a_doctor_exports_a_chart_of_their_own(hospital):
    last = _last_event_id(hospital.app)
    response = hospital.get("doctor", "doctors", **hospital.week, format="png")
    assert png_size(response.data) == (1100, 550)
    account = hospital.accounts["doctor"]
    assert _events_after(hospital.app, last) == [
        ("export", "report", account.id, "doctor", "success")
    ]


# Audit ------------------------------------------------------------------------------------


CSV_EXPORTS = [
    (role, name)
    for role in ("admin", "receptionist", "doctor")
    for name in REPORTS
    if role != "doctor" or name in DOCTOR_REPORTS
]


@pytest.mark.parametrize(("role", "report_name"), CSV_EXPORTS)
def test_every_csv_export_is_audited_once(hospital, role, report_name):
    account = hospital.accounts[role]
    last = _last_event_id(hospital.app)
    response = hospital.get(role, report_name, **hospital.week, format="csv")
    assert response.status_code == 200
    assert _events_after(hospital.app, last) == [("export", "report", account.id, role, "success")]


@pytest.mark.parametrize("report_name", REPORTS)
def test_json_reports_and_invalid_exports_write_no_event(hospital, report_name):
    last = _last_event_id(hospital.app)
    hospital.figures("admin", report_name, **hospital.week)
    assert hospital.get("admin", report_name, format="xml").status_code == 422
    if report_name == "overview":
        assert hospital.get("admin", report_name, format="png").status_code == 422
    assert _events_after(hospital.app, last) == []


def test_csv_defuses_text_a_spreadsheet_would_run(client, admin, factory):
    factory.department(name='=HYPERLINK("http://example.org")')
    factory.department(name="@Cardiology")
    response = client.get("/reports/departments?format=csv", headers=admin.headers)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["name"] for row in rows) == [
        '\'=HYPERLINK("http://example.org")',
        "'@Cardiology",
    ]
