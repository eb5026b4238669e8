"""Shared by the appointment tests: working hours, future local times, booking calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import text

from meditrack.extensions import db

APPOINTMENT_FIELDS = {
    "id",
    "patient_id",
    "doctor_id",
    "department_id",
    "patient",
    "doctor",
    "start_time",
    "end_time",
    "duration_minutes",
    "status",
    "reason",
    "notes",
    "cancellation_reason",
    "created_by",
    "created_at",
    "updated_at",
}
MONDAY, TUESDAY, SATURDAY, SUNDAY = 0, 1, 5, 6


def next_weekday(weekday: int, *, at_least: int = 7) -> date:
    """The first date falling on `weekday` at least `at_least` days from today (UTC)."""
    day = datetime.now(UTC).date() + timedelta(days=at_least)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def at(day: date, clock: str, tz: tzinfo = UTC) -> datetime:
    """An aware datetime: `clock` ("HH:MM") on `day` in `tz`."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=tz)


def future(days: int = 7, clock: str = "10:00") -> datetime:
    """`clock` UTC, `days` days from today: always in the future, never past two years."""
    return at(datetime.now(UTC).date() + timedelta(days=days), clock)


def stamp(moment: datetime, tz: tzinfo = UTC) -> str:
    """How the API writes a datetime when the hospital is in `tz`."""
    return moment.astimezone(tz).isoformat()


def set_working_hours(client, admin, doctor_id: int, *periods: tuple[int, str, str]) -> dict:
    """Replace a doctor's working hours with (weekday, "HH:MM", "HH:MM") periods."""
    body = {
        "working_hours": [
            {"weekday": weekday, "start": start, "end": end} for weekday, start, end in periods
        ]
    }
    response = client.patch(f"/doctors/{doctor_id}", json=body, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def book(client, account, headers: dict | None = None, **body):
    """POST /appointments; datetimes in the body are sent as RFC 3339 strings."""
    body = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in body.items()
    }
    return client.post("/appointments", json=body, headers={**account.headers, **(headers or {})})


def booked(client, account, **body) -> dict:
    """Book and insist that it worked; the new appointment."""
    response = book(client, account, **body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def appointment_row(app, appointment_id: int) -> dict:
    """The appointment as stored, datetimes as aware UTC values."""
    from meditrack.appointments.models import Appointment

    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        return {
            "patient_id": row.patient_id,
            "doctor_id": row.doctor_id,
            "department_id": row.department_id,
            "start_time": row.start_time,
            "end_time": row.end_time,
            "status": row.status,
            "reason": row.reason,
            "notes": row.notes,
            "cancellation_reason": row.cancellation_reason,
            "created_by": row.created_by,
            "archived": row.archived_at is not None,
        }


def event_count(app, appointment_id: int) -> int:
    with app.app_context():
        return db.session.execute(
            text("SELECT COUNT(*) FROM appointment_events WHERE appointment_id = :a"),
            {"a": appointment_id},
        ).scalar_one()
