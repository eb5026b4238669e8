"""Reading the audit trail straight from the database, and planting events in it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from meditrack.audit.models import AuditEvent
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.patients.service import new_mrn

EVENT_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "outcome",
    "ip",
    "request_id",
    "emergency_access_id",
    "details",
)
#: Left out of an event's shape when empty: most events have neither.
OPTIONAL_FIELDS = ("emergency_access_id", "details")
PLANTED_DEFAULTS = {
    "occurred_at": datetime(2025, 6, 1, 12, tzinfo=UTC),
    "actor_id": None,
    "actor_role": None,
    "action": "read",
    "resource_type": "patient",
    "resource_id": None,
    "patient_id": None,
    "outcome": "success",
    "ip": None,
    "request_id": None,
}


def last_event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def stored_events(app, after: int = 0) -> list[dict]:
    """Every event with an id above `after`, oldest first, as plain dicts."""
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
        )
        return [{name: getattr(row, name) for name in EVENT_FIELDS} for row in rows]


def without_identity(events: list[dict]) -> list[dict]:
    """The events less their id and time (and their optional fields when empty), to
    compare with what a request should write."""
    return [
        {
            name: value
            for name, value in event.items()
            if name not in ("id", "occurred_at") and not (name in OPTIONAL_FIELDS and value is None)
        }
        for event in events
    ]


def plant(app, *events: dict) -> list[int]:
    """Insert events as given (inserting is all the trail allows); their ids, in order."""
    with app.app_context():
        rows = [AuditEvent(**{**PLANTED_DEFAULTS, **event}) for event in events]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


class Watch:
    """The events written since it was made (or last reset)."""

    def __init__(self, app):
        self.app = app
        self.reset()

    def reset(self) -> None:
        self.mark = last_event_id(self.app)

    def events(self) -> list[dict]:
        return stored_events(self.app, self.mark)

    def shapes(self) -> list[dict]:
        return without_identity(self.events())


def quiet_patient(app, **fields) -> int:
    """A patient stored straight in the database, so that no event tells of it; its id."""
    with app.app_context():
        patient = Patient(
            mrn=new_mrn(),
            first_name="Quiet",
            last_name="Patient",
            date_of_birth=date(1975, 3, 4),
            **fields,
        )
        db.session.add(patient)
        db.session.commit()
        return patient.id
