"""Building blocks of the hostile-input corpus: cases, references and table snapshots."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from meditrack.extensions import db

#: The tables a refused request must leave exactly as they were.
TARGET_TABLES = (
    "departments",
    "doctors",
    "doctor_working_hours",
    "doctor_time_off",
    "patients",
    "appointments",
    "appointment_events",
    "medical_records",
    "users",
    "auth_sessions",
    "idempotency_records",
)

LONG = 100_000
#: A bookable start, two days ahead at 10:00 UTC: inside the world doctor's hours and well
#: within the two years a booking may look ahead, so that only the hostile part is wrong.
START = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
DAY = START.date().isoformat()

#: The problem `code` each status of a refusal comes with.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    412: "precondition_failed",
    415: "unsupported_media_type",
    422: "validation_error",
}


@dataclass(frozen=True)
class Ref:
    """The id of one of the world's records, filled in when the request is sent."""

    name: str


DEPARTMENT, DOCTOR, PATIENT = Ref("department"), Ref("doctor"), Ref("patient")
EVERY_DAY = [{"weekday": day, "start": "08:00", "end": "18:00"} for day in range(7)]


class World(Mapping):
    """A department, a doctor working every day and a patient, each made (through the
    API) the first time a case refers to it: most cases need one of them or none."""

    NAMES = ("department", "doctor", "patient")

    def __init__(self, factory):
        self.factory = factory
        self.ids: dict[str, int] = {}

    def __getitem__(self, name: str) -> int:
        if name not in self.ids:
            self.ids[name] = self._make(name)["id"]
        return self.ids[name]

    def _make(self, name: str) -> dict:
        if name == "department":
            return self.factory.department(name="Cardiology")
        if name == "doctor":
            return self.factory.doctor(department_id=self["department"], working_hours=EVERY_DAY)
        if name == "patient":
            return self.factory.patient(department_id=self["department"])
        raise KeyError(name)

    def __iter__(self):
        return iter(self.NAMES)

    def __len__(self) -> int:
        return len(self.NAMES)


def resolve(value, world: Mapping):
    if isinstance(value, Ref):
        return world[value.name]
    if isinstance(value, dict):
        return {key: resolve(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, world) for item in value]
    return value


@dataclass(frozen=True)
class Hostile:
    """A request and the problem it must get: status, code and the fields it names."""

    method: str
    path: str
    request: dict
    status: int
    fields: tuple[str, ...] = ()
    caller: str = "admin"  # admin | doctor (the world's patient in scope) | anonymous
    needs: tuple[str, ...] = ()  # world records that must exist though nothing names them

    @property
    def code(self) -> str:
        return CODES[self.status]

    def prepare(self, world: Mapping) -> tuple[str, dict]:
        """The path and the test client's arguments, with the world's ids filled in."""
        for name in self.needs:
            world[name]  # made now, before the test takes its snapshot
        kwargs = dict(self.request)
        if "json" in kwargs:
            kwargs["json"] = resolve(kwargs["json"], world)
        return self.path.format_map(world), kwargs


def case(
    ident: str,
    method: str,
    path: str,
    request: dict,
    status: int = 422,
    *fields,
    caller="admin",
    needs=(),
    marks=(),
):
    hostile = Hostile(method, path, request, status, fields, caller, needs)
    return pytest.param(hostile, id=ident, marks=marks)


def body(value) -> dict:
    return {"json": value}


def raw(data: str | bytes, content_type: str | None = "application/json") -> dict:
    return {"data": data, "content_type": content_type} if content_type else {"data": data}


def query(params: dict | str) -> dict:
    return {"query_string": params}


def raw_query(text: str) -> dict:
    """A query string sent byte for byte (each character one byte, as WSGI has it)."""
    return {"environ_overrides": {"QUERY_STRING": text}}


def twice(before: str, key: str, first, second) -> str:
    """A JSON object text holding `key` twice (json.dumps cannot write one)."""
    name = json.dumps(key)
    return "{" + before + f"{name}: {json.dumps(first)}, {name}: {json.dumps(second)}" + "}"


def slug(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("{", "").replace("}", "")


def table_state(app) -> dict[str, list]:
    """Every row of the target tables, in key order (they hold a few rows in these tests)."""
    with app.app_context():
        return {
            table: [
                tuple(row) for row in db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in TARGET_TABLES
        }


def last_audit_id(app) -> int:
    with app.app_context():
        return db.session.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_events")).scalar()


def audit_outcomes_since(app, after_id: int) -> list[str]:
    """The outcome of each audit event written after `after_id`."""
    with app.app_context():
        return list(
            db.session.scalars(
                text("SELECT outcome FROM audit_events WHERE id > :id ORDER BY id"),
                {"id": after_id},
            )
        )
