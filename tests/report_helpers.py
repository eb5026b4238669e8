"""Shared by the report tests: past dates, direct inserts, and reading CSV and PNG bodies."""

from __future__ import annotations

import csv
import io
import struct
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import update

from meditrack.appointments.models import Appointment, TimeOff
from meditrack.extensions import db
from meditrack.patients.models import Patient

REPORTS = (
    "overview",
    "departments",
    "doctors",
    "appointments/daily",
    "patients/demographics",
)
CHARTED = tuple(report for report in REPORTS if report != "overview")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def monday_weeks_ago(weeks: int) -> date:
    """The Monday of the week `weeks` weeks before this one (UTC): always in the past."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 7 * weeks)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` years earlier; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def at(day: date, clock: str, tz: tzinfo = UTC) -> datetime:
    """An aware datetime: `clock` ("HH:MM") on `day` in `tz`."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=tz)


def report(client, account, name: str, **query):
    """GET /reports/<name>; dates in the query are sent as YYYY-MM-DD."""
    params = {
        ("from" if key == "start" else key): value.isoformat() if isinstance(value, date) else value
        for key, value in query.items()
    }
    return client.get(f"/reports/{name}", query_string=params, headers=account.headers)


def figures(client, account, name: str, **query):
    """The JSON body of a report that must succeed."""
    response = report(client, account, name, **query)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def flat(row: dict, prefix: str = "") -> dict:
    """A JSON row as its CSV row: nested fields joined with `_`, every value a string,
    null an empty cell."""
    cells = {}
    for key, value in row.items():
        name = f"{prefix}_{key}" if prefix else key
        if isinstance(value, dict):
            cells.update(flat(value, name))
        else:
            cells[name] = "" if value is None else str(value)
    return cells


def csv_table(body: bytes) -> tuple[list[str], list[dict]]:
    """The header and the rows of a CSV body."""
    reader = csv.DictReader(io.StringIO(body.decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def png_size(body: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature."""
    assert body[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", body[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", body[16:24])


def insert_time_off(app, doctor_id: int, start: datetime, end: datetime) -> None:
    """Time off straight into the database: the API refuses it in the past."""
    with app.app_context():
        db.session.add(TimeOff(doctor_id=doctor_id, start_time=start, end_time=end))
        db.session.commit()


def touch(app, model, row_id: int, **values) -> None:
    """Set columns the API does not write (created_at, archived_at) on one row."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def touch_appointment(app, appointment_id: int, **values) -> None:
    touch(app, Appointment, appointment_id, **values)


def touch_patient(app, patient_id: int, **values) -> None:
    touch(app, Patient, patient_id, **values)


def sign_up(app, role: str, email: str):
    """An account of `role`, signed in without spending a request on it."""
    from meditrack.auth import service as auth_service
    from meditrack.auth import tokens
    from meditrack.users.models import Role
    from tests.conftest import Account

    password = "correct horse battery"
    with app.app_context():
        user = auth_service.create_user(
            name=email.split("@")[0], email=email, password=password, role=Role(role)
        )
        pair = tokens.issue(user)
        db.session.commit()
        return Account(user.id, email, password, role, pair["access_token"], pair["refresh_token"])
