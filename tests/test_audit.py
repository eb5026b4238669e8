"""The audit trail: which accesses write which events, refusals, sign-ins, the database's
refusal to change or remove events, atomicity with the change, and GET /audit-events."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from meditrack.appointments import calendar
from meditrack.appointments import service as appointments_service
from meditrack.appointments.models import Appointment
from meditrack.audit import service as audit_service
from meditrack.audit.models import AuditEvent
from meditrack.extensions import db
from meditrack.patients import service as patients_service
from meditrack.patients.models import Patient
from meditrack.records import service as records_service
from meditrack.records.models import MedicalRecord
from tests.api_helpers import assert_problem, ids, link_pages
from tests.audit_helpers import (
    EVENT_FIELDS,
    Watch,
    plant,
    quiet_patient,
    stored_events,
    without_identity,
)
from tests.conftest import Account, count_rows
from tests.scheduling_helpers import booked, future

IP = "198.51.100.23"
FROM_IP = {"REMOTE_ADDR": IP}
REFUSAL = "audit events are append-only"


@dataclass
class Clinic:
    """A doctor and their patient (both with logins) sharing an appointment and a record,
    another patient with a login, and the staff."""

    accounts: dict[str, Account]
    ids: dict[str, int]

    def account(self, role: str) -> Account:
        return self.accounts[role]


@pytest.fixture
def clinic(client, admin, receptionist, factory, make_account, doctor_account, patient_account):
    doctor, doctor_row = doctor_account
    patient, patient_row = patient_account
    other = make_account("patient")
    other_row = factory.patient(user_id=other.id)
    appointment = booked(
        client,
        receptionist,
        patient_id=patient_row["id"],
        doctor_id=doctor_row["id"],
        start_time=future(days=5),
    )
    response = client.post(
        f"/patients/{patient_row['id']}/records",
        json={"diagnosis": "Migraine"},
        headers=doctor.headers,
    )
    assert response.status_code == 201, response.get_json()
    return Clinic(
        accounts={
            "admin": admin,
            "receptionist": receptionist,
            "doctor": doctor,
            "patient": patient,
            "other_patient": other,
        },
        ids={
            "doctor": doctor_row["id"],
            "patient": patient_row["id"],
            "other_patient": other_row["id"],
            "appointment": appointment["id"],
            "record": response.get_json()["id"],
        },
    )


def call(client, account: Account, method: str, path: str, body=None, **kwargs):
    return client.open(
        path,
        method=method,
        json=body,
        headers={**account.headers, **kwargs.pop("headers", {})},
        environ_base=FROM_IP,
        **kwargs,
    )


def expected(
    account: Account | None,
    action: str,
    resource_type: str,
    resource_id: int | None,
    patient_id: int | None,
    outcome: str,
    response,
) -> dict:
    return {
        "actor_id": account.id if account else None,
        "actor_role": account.role if account else None,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "patient_id": patient_id,
        "outcome": outcome,
        "ip": IP,
        "request_id": response.headers["X-Request-ID"],
    }


def table_state(app) -> dict:
    """Every patient, appointment and record as stored, to show that nothing changed."""
    with app.app_context():
        state = {}
        for model in (Patient, Appointment, MedicalRecord):
            rows = db.session.scalars(select(model).order_by(model.id))
            state[model.__tablename__] = [
                {column.key: getattr(row, column.key) for column in model.__table__.columns}
                for row in rows
            ]
        return state


# Each access writes exactly its event ----------------------------------------------------


@dataclass(frozen=True)
class Access:
    role: str
    method: str
    path: str
    status: int
    action: str
    resource_type: str
    resource: str  # a key of Clinic.ids, or "created" for the new row's id
    body: dict | None = None
    before: tuple[tuple[str, str], ...] = field(default=())  # requests made first, as admin

    def __str__(self) -> str:
        return f"{self.role}-{self.method}-{self.path}"


NEW_PATIENT = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1985-12-10"}
ACCESSES = [
    Access("doctor", "GET", "/patients/{patient}", 200, "read", "patient", "patient"),
    Access("patient", "GET", "/patients/{patient}", 200, "read", "patient", "patient"),
    Access("receptionist", "POST", "/patients", 201, "create", "patient", "created", NEW_PATIENT),
    Access(
        "receptionist",
        "PATCH",
        "/patients/{patient}",
        200,
        "update",
        "patient",
        "patient",
        {"phone": "+1 555 0100"},
    ),
    Access(
        "doctor",
        "PUT",
        "/patients/{patient}",
        200,
        "update",
        "patient",
        "patient",
        {"allergies": "Penicillin"},
    ),
    Access("receptionist", "DELETE", "/patients/{patient}", 204, "archive", "patient", "patient"),
    Access(
        "admin",
        "POST",
        "/patients/{patient}/restore",
        200,
        "restore",
        "patient",
        "patient",
        before=(("DELETE", "/patients/{patient}"),),
    ),
    Access(
        "patient", "GET", "/appointments/{appointment}", 200, "read", "appointment", "appointment"
    ),
    Access(
        "doctor",
        "GET",
        "/appointments/{appointment}/history",
        200,
        "read",
        "appointment",
        "appointment",
    ),
    Access(
        "receptionist",
        "PATCH",
        "/appointments/{appointment}",
        200,
        "update",
        "appointment",
        "appointment",
        {"reason": "Follow-up"},
    ),
    Access(
        "doctor",
        "PATCH",
        "/appointments/{appointment}",
        200,
        "update",
        "appointment",
        "appointment",
        {"status": "checked_in"},
    ),
    Access(
        "patient",
        "PATCH",
        "/appointments/{appointment}",
        200,
        "update",
        "appointment",
        "appointment",
        {"status": "cancelled", "cancellation_reason": "Travelling"},
    ),
    Access(
        "admin",
        "DELETE",
        "/appointments/{appointment}",
        204,
        "archive",
        "appointment",
        "appointment",
    ),
    Access(
        "admin",
        "POST",
        "/appointments/{appointment}/restore",
        200,
        "restore",
        "appointment",
        "appointment",
        before=(("DELETE", "/appointments/{appointment}"),),
    ),
    Access("patient", "GET", "/records/{record}", 200, "read", "record", "record"),
    Access("admin", "GET", "/records/{record}", 200, "read", "record", "record"),
    Access(
        "doctor",
        "POST",
        "/patients/{patient}/records",
        201,
        "create",
        "record",
        "created",
        {"diagnosis": "Asthma"},
    ),
    Access(
        "doctor",
        "PATCH",
        "/records/{record}",
        200,
        "update",
        "record",
        "record",
        {"notes": "Better"},
    ),
    Access("doctor", "DELETE", "/records/{record}", 204, "archive", "record", "record"),
    Access("admin", "DELETE", "/records/{record}", 204, "archive", "record", "record"),
    Access(
        "admin",
        "POST",
        "/records/{record}/restore",
        200,
        "restore",
        "record",
        "record",
        before=(("DELETE", "/records/{record}"),),
    ),
]


@pytest.mark.parametrize("access", ACCESSES, ids=str)
def test_each_access_writes_exactly_its_event(app, client, clinic, access):
    for method, path in access.before:
        response = call(client, clinic.account("admin"), method, path.format(**clinic.ids))
        assert response.status_code < 300, response.get_json()
    account = clinic.account(access.role)
    watch = Watch(app)
    started = datetime.now(UTC)

    response = call(client, account, access.method, access.path.format(**clinic.ids), access.body)

    assert response.status_code == access.status, response.get_json()
    if access.resource == "created":
        resource_id = response.get_json()["id"]
        patient_id = resource_id if access.resource_type == "patient" else clinic.ids["patient"]
    else:
        resource_id, patient_id = clinic.ids[access.resource], clinic.ids["patient"]
    events = watch.events()
    assert without_identity(events) == [
        expected(
            account,
            access.action,
            access.resource_type,
            resource_id,
            patient_id,
            "success",
            response,
        )
    ]
    assert started <= events[0]["occurred_at"] <= datetime.now(UTC)


@pytest.mark.parametrize(
    "request_id, stored_as_sent",
    [("trace-42.a_b", True), ("not allowed!", False), ("x" * 129, False)],
)
def test_the_event_names_the_request(app, client, clinic, request_id, stored_as_sent):
    watch = Watch(app)
    response = call(
        client,
        clinic.account("doctor"),
        "GET",
        f"/patients/{clinic.ids['patient']}",
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 200
    [stored] = watch.events()
    assert stored["request_id"] == response.headers["X-Request-ID"]
    assert (stored["request_id"] == request_id) is stored_as_sent


def test_a_history_read_is_logged_even_when_it_has_no_entries(app, client, clinic, factory):
    """An appointment made outside the API has no history rows; reading it is still a read."""
    appointment = factory.appointment(
        patient_id=clinic.ids["patient"], doctor_id=clinic.ids["doctor"]
    )
    account = clinic.account("receptionist")
    watch = Watch(app)
    response = call(client, account, "GET", f"/appointments/{appointment}/history")
    assert response.status_code == 200
    assert watch.shapes() == [
        expected(
            account, "read", "appointment", appointment, clinic.ids["patient"], "success", response
        )
    ]


# Lists: one event per returned row -------------------------------------------------------

LISTS = [
    ("admin", "/patients", "patient"),
    ("doctor", "/patients", "patient"),
    ("patient", "/patients", "patient"),
    ("receptionist", "/appointments", "appointment"),
    ("doctor", "/appointments", "appointment"),
    ("patient", "/appointments", "appointment"),
    ("admin", "/patients/{patient}/records", "record"),
    ("doctor", "/patients/{patient}/records", "record"),
    ("patient", "/patients/{patient}/records", "record"),
]


@pytest.mark.parametrize("role, path, resource_type", LISTS)
def test_a_list_writes_one_event_per_returned_row(
    app, client, clinic, factory, role, path, resource_type
):
    # a second appointment and record, so that each list has more than one row
    factory.appointment(patient_id=clinic.ids["patient"], doctor_id=clinic.ids["doctor"])
    response = client.post(
        f"/patients/{clinic.ids['patient']}/records",
        json={"diagnosis": "Sprain"},
        headers=clinic.account("doctor").headers,
    )
    assert response.status_code == 201
    account = clinic.account(role)
    watch = Watch(app)

    response = call(client, account, "GET", path.format(**clinic.ids))

    assert response.status_code == 200, response.get_json()
    rows = response.get_json()
    assert rows
    patient_of = "id" if resource_type == "patient" else "patient_id"
    assert sorted(watch.shapes(), key=lambda e: e["resource_id"]) == [
        expected(account, "list", resource_type, row["id"], row[patient_of], "success", response)
        for row in sorted(rows, key=lambda row: row["id"])
    ]


def test_three_patients_listed_write_three_events(app, client, admin, factory):
    patients = [factory.patient()["id"] for _ in range(3)]
    watch = Watch(app)
    response = call(client, admin, "GET", "/patients")
    assert sorted(ids(response)) == patients
    events = watch.events()
    assert len(events) == 3
    assert sorted(e["patient_id"] for e in events) == patients
    assert sorted(e["resource_id"] for e in events) == patients
    assert {(e["action"], e["resource_type"], e["outcome"]) for e in events} == {
        ("list", "patient", "success")
    }


def test_only_the_rows_of_the_page_are_logged(app, client, admin, factory):
    patients = [factory.patient()["id"] for _ in range(5)]
    watch = Watch(app)
    response = call(client, admin, "GET", "/patients?sort=created_at&per_page=2&page=2")
    assert ids(response) == patients[2:4]
    assert [e["patient_id"] for e in watch.events()] == patients[2:4]


@pytest.mark.parametrize(
    "path", ["/patients?q=nobody-by-this-name", "/appointments", "/patients/{patient}/records"]
)
def test_an_empty_list_writes_nothing(app, client, admin, factory, path):
    patient = factory.patient()
    watch = Watch(app)
    response = call(client, admin, "GET", path.format(patient=patient["id"]))
    assert response.status_code == 200
    assert response.get_json() == []
    assert watch.events() == []


# Calendar feeds ---------------------------------------------------------------------------


@pytest.fixture
def feeds(clinic, factory):
    """Beside the clinic's appointment: one cancelled, one far ahead, and one of the doctor
    with the other patient."""
    cancelled = factory.appointment(
        patient_id=clinic.ids["patient"], doctor_id=clinic.ids["doctor"], status="cancelled"
    )
    far = factory.appointment(
        patient_id=clinic.ids["patient"],
        doctor_id=clinic.ids["doctor"],
        start=datetime.now(UTC) + timedelta(days=60),
    )
    shared = factory.appointment(
        patient_id=clinic.ids["other_patient"], doctor_id=clinic.ids["doctor"]
    )
    return {"cancelled": cancelled, "far": far, "shared": shared}


WITHIN_30_DAYS = {"to": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()}
FEEDS = [
    ("doctor", "/doctors/{doctor}/calendar.ics", {}, ["appointment", "far", "shared"]),
    ("receptionist", "/doctors/{doctor}/calendar.ics", WITHIN_30_DAYS, ["appointment", "shared"]),
    ("patient", "/patients/{patient}/calendar.ics", {}, ["appointment", "far"]),
    ("admin", "/patients/{patient}/calendar.ics", WITHIN_30_DAYS, ["appointment"]),
]


@pytest.mark.parametrize("role, path, query, included", FEEDS)
def test_a_calendar_feed_writes_one_event_per_appointment_in_it(
    app, client, clinic, feeds, role, path, query, included
):
    appointments = {**feeds, "appointment": clinic.ids["appointment"]}
    patient_of = {
        appointments[name]: clinic.ids["other_patient" if name == "shared" else "patient"]
        for name in appointments
    }
    account = clinic.account(role)
    watch = Watch(app)

    response = call(client, account, "GET", path.format(**clinic.ids), query_string=query)

    assert response.status_code == 200
    assert response.data.count(b"BEGIN:VEVENT") == len(included)
    assert sorted(watch.shapes(), key=lambda e: e["resource_id"]) == [
        expected(account, "list", "appointment", ident, patient_of[ident], "success", response)
        for ident in sorted(appointments[name] for name in included)
    ]


# Concurrency --------------------------------------------------------------------------------


def someone_else_writes(app, patient_id: int) -> None:
    """Another client changes a row, on its own connection, right now. On SQLite it gives
    up at once if the database is locked (it would otherwise wait for this very request)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    statement = "UPDATE patients SET phone = '+1 555 0123' WHERE id = "
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            conn.execute(statement + "?", (patient_id,))
        except sqlite3.OperationalError:
            pass  # this request holds the write lock: the other client waits its turn
        finally:
            conn.close()
    else:
        with db.engine.connect() as conn:
            conn.execute(text(statement + ":id"), {"id": patient_id})
            conn.commit()


@pytest.mark.parametrize(
    "path, module, name",
    [
        ("/patients/{patient}", patients_service, "get_patient"),
        ("/records/{record}", records_service, "get_record"),
        ("/appointments", appointments_service, "list_appointments"),
        ("/patients/{patient}/calendar.ics", calendar, "patient_calendar"),
    ],
    ids=["patient", "record", "appointments", "calendar"],
)
def test_a_read_still_writes_its_events_when_another_write_commits_meanwhile(
    app, client, clinic, monkeypatch, path, module, name
):
    """A read has begun (the caller's login was read) when another client commits a
    change; the read's events must still be written (SQLite: no stale snapshot)."""
    original = getattr(module, name)

    def interleaved(**kwargs):
        someone_else_writes(app, clinic.ids["patient"])
        return original(**kwargs)

    monkeypatch.setattr(module, name, interleaved)
    watch = Watch(app)
    response = call(client, clinic.account("admin"), "GET", path.format(**clinic.ids))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    events = watch.events()
    assert events
    assert {(e["outcome"], e["patient_id"]) for e in events} == {("success", clinic.ids["patient"])}


# Refused access ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    role: str
    method: str
    path: str
    status: int
    action: str
    resource_type: str
    resource: str | None  # a key of Clinic.ids, or None
    patient: str | None = "patient"
    body: dict | None = None
    before: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.role}-{self.method}-{self.path}"


REFUSALS = [
    # outside the caller's scope: 404 to the caller, a denied event with the real patient
    Refusal("other_patient", "GET", "/records/{record}", 404, "read", "record", "record"),
    Refusal("other_patient", "GET", "/patients/{patient}", 404, "read", "patient", "patient"),
    Refusal(
        "other_patient",
        "GET",
        "/appointments/{appointment}",
        404,
        "read",
        "appointment",
        "appointment",
    ),
    Refusal(
        "other_patient",
        "GET",
        "/appointments/{appointment}/history",
        404,
        "read",
        "appointment",
        "appointment",
    ),
    Refusal("other_patient", "GET", "/patients/{patient}/records", 404, "list", "record", None),
    Refusal(
        "other_patient",
        "PATCH",
        "/patients/{patient}",
        404,
        "update",
        "patient",
        "patient",
        body={"phone": "+1 555 0199"},
    ),
    # a role that may never do it: 403
    Refusal("receptionist", "GET", "/patients/{patient}/records", 403, "list", "record", None),
    Refusal("receptionist", "GET", "/records/{record}", 403, "read", "record", "record"),
    Refusal("doctor", "GET", "/patients?include_archived=true", 403, "list", "patient", None, None),
    Refusal(
        "doctor",
        "GET",
        "/appointments?include_archived=true",
        403,
        "list",
        "appointment",
        None,
        None,
    ),
    Refusal(
        "doctor",
        "GET",
        "/patients/{patient}/records?include_archived=true",
        403,
        "list",
        "record",
        None,
    ),
    Refusal(
        "doctor",
        "GET",
        "/patients/{patient}?include_archived=true",
        403,
        "read",
        "patient",
        "patient",
    ),
    Refusal(
        "doctor",
        "PATCH",
        "/patients/{patient}",
        403,
        "update",
        "patient",
        "patient",
        body={"first_name": "Renamed"},
    ),
    Refusal(
        "receptionist",
        "PATCH",
        "/records/{record}",
        403,
        "update",
        "record",
        "record",
        body={"diagnosis": "Changed"},
    ),
    Refusal(
        "patient",
        "POST",
        "/patients/{patient}/records",
        403,
        "create",
        "record",
        None,
        body={"diagnosis": "Self-diagnosed"},
    ),
    Refusal("patient", "DELETE", "/patients/{patient}", 403, "archive", "patient", "patient"),
    Refusal("receptionist", "DELETE", "/records/{record}", 403, "archive", "record", "record"),
    Refusal(
        "receptionist",
        "POST",
        "/patients/{patient}/restore",
        403,
        "restore",
        "patient",
        "patient",
        before=(("DELETE", "/patients/{patient}"),),
    ),
    # calendar feeds are lists of appointments
    Refusal("doctor", "GET", "/patients/{patient}/calendar.ics", 403, "list", "appointment", None),
    Refusal(
        "other_patient", "GET", "/patients/{patient}/calendar.ics", 404, "list", "appointment", None
    ),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=str)
def test_a_refused_access_writes_one_denied_event_and_changes_nothing(app, client, clinic, refusal):
    for method, path in refusal.before:
        response = call(client, clinic.account("admin"), method, path.format(**clinic.ids))
        assert response.status_code < 300, response.get_json()
    account = clinic.account(refusal.role)
    state = table_state(app)
    watch = Watch(app)

    response = call(
        client, account, refusal.method, refusal.path.format(**clinic.ids), refusal.body
    )

    assert_problem(response, refusal.status, "not_found" if refusal.status == 404 else "forbidden")
    assert watch.shapes() == [
        expected(
            account,
            refusal.action,
            refusal.resource_type,
            clinic.ids[refusal.resource] if refusal.resource else None,
            clinic.ids[refusal.patient] if refusal.patient else None,
            "denied",
            response,
        )
    ]
    assert table_state(app) == state


def test_another_doctors_calendar_is_a_denied_list(app, client, clinic, make_account, factory):
    outsider = make_account("doctor")
    factory.doctor(user_id=outsider.id)
    watch = Watch(app)
    response = call(client, outsider, "GET", f"/doctors/{clinic.ids['doctor']}/calendar.ics")
    assert_problem(response, 403, "forbidden")
    assert watch.shapes() == [
        expected(outsider, "list", "appointment", None, None, "denied", response)
    ]


FAILURES = [
    ("receptionist", "POST", "/patients", {"first_name": "Ada"}, 422),
    ("receptionist", "POST", "/patients", {**NEW_PATIENT, "department_id": 987_654}, 422),
    ("receptionist", "POST", "/patients", {**NEW_PATIENT, "mrn": "1234567890"}, 422),
    ("doctor", "POST", "/patients/{patient}/records", {}, 422),
    (
        "doctor",
        "POST",
        "/patients/{patient}/records",
        {"diagnosis": "Flu", "appointment_id": 987_654},
        422,
    ),
    ("doctor", "PATCH", "/records/{record}", {"diagnosis": ""}, 422),
    ("receptionist", "PATCH", "/patients/{patient}", {"gender": "robot"}, 422),
    ("receptionist", "PATCH", "/appointments/{appointment}", {"status": "completed"}, 422),
    (
        "receptionist",
        "POST",
        "/appointments",
        {"patient_id": 987_654, "doctor_id": 1, "start_time": "2999-01-01T10:00:00Z"},
        422,
    ),
]


@pytest.mark.parametrize("role, method, path, body, status", FAILURES)
def test_a_failed_request_writes_no_event_and_changes_nothing(
    app, client, clinic, role, method, path, body, status
):
    state = table_state(app)
    watch = Watch(app)
    response = call(client, clinic.account(role), method, path.format(**clinic.ids), body)
    assert response.status_code == status, response.get_json()
    assert watch.events() == []
    assert table_state(app) == state


def test_a_stale_if_match_writes_no_event(app, client, clinic):
    state = table_state(app)
    watch = Watch(app)
    response = call(
        client,
        clinic.account("receptionist"),
        "PATCH",
        f"/patients/{clinic.ids['patient']}",
        {"phone": "+1 555 0111"},
        headers={"If-Match": '"stale"'},
    )
    assert_problem(response, 412, "precondition_failed")
    assert watch.events() == []
    assert table_state(app) == state


# Sign-in and sign-out ---------------------------------------------------------------------


def login(client, email: str, password: str):
    return client.post(
        "/auth/login", json={"email": email, "password": password}, environ_base=FROM_IP
    )


def login_event(response, outcome: str, resource_id: int | None, actor=None) -> dict:
    return expected(actor, "login", "user", resource_id, None, outcome, response)


def test_a_login_writes_a_success_event_for_the_user(app, client, make_account):
    account = make_account("doctor")
    watch = Watch(app)
    response = login(client, account.email.upper(), account.password)
    assert response.status_code == 200
    assert watch.shapes() == [login_event(response, "success", account.id, account)]


@pytest.mark.parametrize("known", [True, False], ids=["wrong-password", "unknown-email"])
def test_a_wrong_login_writes_a_failed_event_without_actor(app, client, make_account, known):
    account = make_account("patient")
    watch = Watch(app)
    email = account.email if known else "nobody@example.org"
    response = login(client, email, "not the password at all")
    assert_problem(response, 401, "unauthorized")
    assert watch.shapes() == [login_event(response, "failed", account.id if known else None)]


def test_an_inactive_account_login_is_denied(app, client, admin, make_account):
    account = make_account("receptionist")
    response = client.patch(
        f"/users/{account.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200
    watch = Watch(app)
    response = login(client, account.email, account.password)
    assert_problem(response, 401, "unauthorized")
    assert watch.shapes() == [login_event(response, "denied", account.id)]


@pytest.mark.parametrize(
    "limit, by", [("MEDITRACK_LOGIN_EMAIL_LIMIT", "email"), ("MEDITRACK_LOGIN_IP_LIMIT", "address")]
)
def test_a_throttled_login_is_denied(app, client, make_account, monkeypatch, limit, by):
    monkeypatch.setitem(app.config, limit, "2 per 15 minutes")
    account = make_account("patient")
    watch = Watch(app)
    for _ in range(2):
        assert login(client, account.email, "wrong password!").status_code == 401
    response = login(client, account.email, account.password)
    assert_problem(response, 429, "rate_limited")
    assert [(e["outcome"], e["resource_id"]) for e in watch.events()] == [
        ("failed", account.id),
        ("failed", account.id),
        ("denied", account.id),
    ]
    throttled = {"throttled_by": by, "window_seconds": 15 * 60}
    assert watch.shapes()[-1] == {
        **login_event(response, "denied", account.id),
        "details": throttled,
    }


def test_a_logout_writes_a_logout_event(app, client, make_account):
    account = make_account("patient")
    watch = Watch(app)
    response = client.post("/auth/logout", headers=account.headers, environ_base=FROM_IP)
    assert response.status_code == 204
    assert watch.shapes() == [
        expected(account, "logout", "user", account.id, None, "success", response)
    ]


# Append-only ------------------------------------------------------------------------------


def _two_events(app) -> list[dict]:
    plant(
        app,
        {"actor_id": 7, "action": "read", "patient_id": 3, "resource_id": 3},
        {"action": "login", "resource_type": "user", "outcome": "failed"},
    )
    return stored_events(app)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET outcome = 'success', actor_id = NULL",
        "UPDATE audit_events SET patient_id = 99 WHERE id = (SELECT MIN(id) FROM audit_events)",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE outcome = 'failed'",
        # SQLite has no TRUNCATE; PostgreSQL's row triggers would not see it.
        *(
            pytest.param(statement, marks=pytest.mark.postgres_only)
            for statement in (
                "TRUNCATE audit_events",
                "TRUNCATE audit_events RESTART IDENTITY",
                "TRUNCATE patients, audit_events CASCADE",
            )
        ),
    ],
)
def test_the_database_refuses_to_change_or_remove_events(app, statement):
    before = _two_events(app)
    with app.app_context(), pytest.raises(DBAPIError, match=REFUSAL), db.engine.begin() as conn:
        conn.execute(text(statement))
    assert stored_events(app) == before


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_orm_cannot_change_or_remove_events_either(app, change):
    before = _two_events(app)
    with app.app_context():
        row = db.session.get(AuditEvent, before[0]["id"])
        if change == "update":
            row.outcome = "denied"
        else:
            db.session.delete(row)
        with pytest.raises(DBAPIError, match=REFUSAL):
            db.session.commit()
        db.session.rollback()
    assert stored_events(app) == before


def test_no_route_changes_or_removes_events(app):
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/audit-events") or rule.rule.endswith("/access-log")
    ]
    assert {rule.rule for rule in rules} == {
        "/audit-events",
        "/patients/<int:patient_id>/access-log",
    }
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writing_to_the_trail_over_http_is_not_allowed(app, client, admin, method):
    [ident] = plant(app, {"actor_id": admin.id})
    before = stored_events(app)
    response = client.open("/audit-events", method=method, json={}, headers=admin.headers)
    assert_problem(response, 405, "method_not_allowed")
    response = client.open(f"/audit-events/{ident}", method=method, json={}, headers=admin.headers)
    assert response.status_code in (404, 405)
    assert stored_events(app) == before


# Atomicity --------------------------------------------------------------------------------

SECRET = "secret-database-detail"


def _refuse(*args, **kwargs):
    raise SQLAlchemyError(SECRET)


def _refuse_event_inserts(conn, cursor, statement, *args) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
        _refuse()


@pytest.fixture
def broken_trail(app, monkeypatch):
    """Makes writing events fail, either when one is made or when it is inserted."""
    listeners = []

    def breaker(where: str) -> None:
        if where == "making":
            monkeypatch.setattr(audit_service, "_event", _refuse)
        else:
            with app.app_context():
                engine = db.engine
            event.listen(engine, "before_cursor_execute", _refuse_event_inserts)
            listeners.append(engine)

    def mend() -> None:
        monkeypatch.undo()
        while listeners:
            event.remove(listeners.pop(), "before_cursor_execute", _refuse_event_inserts)

    breaker.mend = mend
    yield breaker
    mend()


def assert_internal_error(response) -> None:
    body = assert_problem(response, 500, "internal_error")
    text_of = response.get_data(as_text=True)
    assert SECRET not in text_of
    assert "Traceback" not in text_of
    assert set(body) == {"type", "title", "status", "detail", "code"}


@pytest.mark.parametrize("where", ["making", "inserting"])
def test_a_change_whose_event_cannot_be_written_is_rolled_back(
    app, client, clinic, broken_trail, where
):
    state = table_state(app)
    watch = Watch(app)
    broken_trail(where)
    response = call(
        client,
        clinic.account("receptionist"),
        "PATCH",
        f"/patients/{clinic.ids['patient']}",
        {"last_name": "Changed", "phone": "+1 555 0122"},
    )
    broken_trail.mend()

    assert_internal_error(response)
    assert table_state(app) == state
    assert watch.events() == []
    # the same change goes through, with its event, once the trail can be written again
    response = call(
        client,
        clinic.account("receptionist"),
        "PATCH",
        f"/patients/{clinic.ids['patient']}",
        {"last_name": "Changed"},
    )
    assert response.status_code == 200
    assert [e["action"] for e in watch.events()] == ["update"]


@pytest.mark.parametrize("where", ["making", "inserting"])
def test_a_create_whose_event_cannot_be_written_leaves_no_row(
    app, client, clinic, broken_trail, where
):
    patients = count_rows(app, "patients")
    broken_trail(where)
    response = call(client, clinic.account("receptionist"), "POST", "/patients", NEW_PATIENT)
    broken_trail.mend()
    assert_internal_error(response)
    assert count_rows(app, "patients") == patients


@pytest.mark.parametrize("where", ["making", "inserting"])
@pytest.mark.parametrize(
    "role, path, status",
    [("doctor", "/patients/{patient}", 200), ("other_patient", "/records/{record}", 404)],
)
def test_an_access_whose_event_cannot_be_written_fails(
    app, client, clinic, broken_trail, where, role, path, status
):
    """Reads and refusals alike: no answer goes out without its event."""
    watch = Watch(app)
    broken_trail(where)
    response = call(client, clinic.account(role), "GET", path.format(**clinic.ids))
    broken_trail.mend()
    assert_internal_error(response)
    assert "Pat" not in response.get_data(as_text=True)
    assert watch.events() == []
    assert call(client, clinic.account(role), "GET", path.format(**clinic.ids)).status_code == (
        status
    )


# GET /audit-events ------------------------------------------------------------------------

BOGOTA = ZoneInfo("America/Bogota")  # UTC-5 all year


def bogota(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BOGOTA)


# Events name real users and patients: a filter on an id that names none is a 422.
PLANTED = {
    "e1": {
        "occurred_at": bogota(2025, 5, 31, 23, 59, 59),
        "actor": "doctor",
        "action": "read",
        "resource_type": "patient",
        "patient": "p1",
    },
    "e2": {
        "occurred_at": bogota(2025, 6, 1),
        "actor": "admin",
        "action": "update",
        "resource_type": "patient",
        "patient": "p1",
    },
    "e3": {
        "occurred_at": bogota(2025, 6, 1, 12),
        "actor": "doctor",
        "action": "list",
        "resource_type": "record",
        "resource_id": 77,
        "patient": "p2",
    },
    "e4": {
        "occurred_at": bogota(2025, 6, 1, 23, 59, 59),
        "action": "login",
        "resource_type": "user",
        "outcome": "failed",
    },
    "e5": {
        "occurred_at": bogota(2025, 6, 2),
        "actor": "doctor",
        "action": "read",
        "resource_type": "appointment",
        "resource_id": 12,
        "patient": "p2",
    },
    "e6": {  # the same moment as e5: the later id comes first
        "occurred_at": bogota(2025, 6, 2),
        "actor": "admin",
        "action": "archive",
        "resource_type": "record",
        "resource_id": 78,
        "patient": "p1",
        "outcome": "denied",
    },
}


@dataclass
class Planted:
    events: dict[str, int]  # event ids by name
    refs: dict[str, int]  # user ids ("doctor", "admin", "idle") and patient ids ("p1"...)
    roles: dict[str, str]


@pytest.fixture
def planted(app, admin, make_account, monkeypatch) -> Planted:
    """PLANTED's events, with the hospital in Bogota."""
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", BOGOTA)
    doctor, idle = make_account("doctor"), make_account("receptionist")
    refs = {"doctor": doctor.id, "admin": admin.id, "idle": idle.id}
    refs |= {name: quiet_patient(app) for name in ("p1", "p2", "p3")}
    roles = {"doctor": "doctor", "admin": "admin"}
    rows = []
    for spec in PLANTED.values():
        row = {k: v for k, v in spec.items() if k not in ("actor", "patient")}
        if "actor" in spec:
            row |= {"actor_id": refs[spec["actor"]], "actor_role": roles[spec["actor"]]}
        if "patient" in spec:
            row["patient_id"] = refs[spec["patient"]]
            row.setdefault("resource_id", row["patient_id"])
        rows.append(row)
    return Planted(dict(zip(PLANTED, plant(app, *rows), strict=True)), refs, roles)


FILTERS = [
    ({}, "e6 e5 e4 e3 e2 e1"),
    ({"actor_id": "doctor"}, "e5 e3 e1"),
    ({"patient_id": "p1"}, "e6 e2 e1"),
    ({"resource_type": "record"}, "e6 e3"),
    ({"action": "read"}, "e5 e1"),
    ({"actor_id": "doctor", "resource_type": "record"}, "e3"),
    ({"actor_id": "idle"}, ""),
    ({"patient_id": "p3"}, ""),
    ({"from": "2025-06-01"}, "e6 e5 e4 e3 e2"),
    ({"to": "2025-06-01"}, "e4 e3 e2 e1"),
    ({"from": "2025-06-01", "to": "2025-06-01"}, "e4 e3 e2"),
    ({"from": "2025-06-01T05:00:00Z"}, "e6 e5 e4 e3 e2"),
    ({"from": "2025-06-01T00:00:01"}, "e6 e5 e4 e3"),
    ({"to": "2025-06-02T00:00:00"}, "e4 e3 e2 e1"),
    ({"to": "2025-06-02T05:00:00+00:00"}, "e4 e3 e2 e1"),
    ({"to": "2025-06-02T00:00:01-05:00"}, "e6 e5 e4 e3 e2 e1"),
    ({"from": "2025-06-02", "patient_id": "p2"}, "e5"),
]


def resolve(query: dict, planted: Planted) -> dict:
    """Filters naming users and patients by their PLANTED names, with their real ids."""
    return {
        name: planted.refs[value] if name in ("actor_id", "patient_id") else value
        for name, value in query.items()
    }


@pytest.mark.parametrize("query, names", FILTERS)
def test_admins_search_the_trail_newest_first(client, admin, planted, query, names):
    response = client.get(
        "/audit-events", query_string=resolve(query, planted), headers=admin.headers
    )
    assert ids(response) == [planted.events[name] for name in names.split()]
    assert response.headers["X-Total-Count"] == str(len(names.split()))
    assert response.headers["Cache-Control"] == "no-store"


def test_an_archived_patients_events_can_be_searched(client, admin, planted):
    response = client.delete(f"/patients/{planted.refs['p2']}", headers=admin.headers)
    assert response.status_code == 204
    response = client.get(
        "/audit-events",
        query_string={"patient_id": planted.refs["p2"], "to": "2025-06-02"},
        headers=admin.headers,
    )
    assert ids(response) == [planted.events["e5"], planted.events["e3"]]


def test_events_carry_their_shape_in_hospital_time(client, admin, planted):
    response = client.get("/audit-events", query_string={"action": "update"}, headers=admin.headers)
    assert response.get_json() == [
        {
            "id": planted.events["e2"],
            "occurred_at": "2025-06-01T00:00:00-05:00",
            "actor_id": admin.id,
            "actor_role": "admin",
            "action": "update",
            "resource_type": "patient",
            "resource_id": planted.refs["p1"],
            "patient_id": planted.refs["p1"],
            "outcome": "success",
            "ip": None,
            "request_id": None,
            "emergency_access_id": None,
            "details": None,
        }
    ]


def test_the_api_shows_the_events_as_stored(app, client, clinic):
    watch = Watch(app)
    response = call(client, clinic.account("doctor"), "GET", f"/patients/{clinic.ids['patient']}")
    assert response.status_code == 200
    [stored] = watch.events()
    listed = client.get(
        "/audit-events", query_string={"per_page": 1}, headers=clinic.account("admin").headers
    ).get_json()
    assert list(listed[0]) == list(EVENT_FIELDS)
    assert datetime.fromisoformat(listed[0].pop("occurred_at")) == stored.pop("occurred_at")
    assert listed == [stored]


@pytest.mark.parametrize("role", ["receptionist", "doctor", "patient"])
def test_only_admins_search_the_trail(app, client, make_account, role):
    plant(app, {"actor_id": 1})
    response = client.get("/audit-events", headers=make_account(role).headers)
    assert_problem(response, 403, "forbidden")


def test_the_trail_needs_a_token(client):
    assert_problem(client.get("/audit-events"), 401, "unauthorized")


def test_the_trail_is_paginated(client, admin, planted):
    response = client.get("/audit-events?per_page=2&page=2", headers=admin.headers)
    assert ids(response) == [planted.events["e4"], planted.events["e3"]]
    assert response.headers["X-Total-Count"] == "6"
    assert link_pages(response) == {"first": 1, "prev": 1, "next": 3, "last": 3}
    response = client.get("/audit-events?per_page=2&page=9", headers=admin.headers)
    assert ids(response) == []
    assert response.headers["X-Total-Count"] == "6"


@pytest.mark.parametrize(
    "query, field_name",
    [
        ({"actor_id": "abc"}, "actor_id"),
        ({"actor_id": "0"}, "actor_id"),
        ({"actor_id": str(2**31)}, "actor_id"),
        ({"actor_id": str(2**63)}, "actor_id"),
        ({"actor_id": "987654"}, "actor_id"),
        ({"patient_id": "987654"}, "patient_id"),
        ({"patient_id": str(2**40)}, "patient_id"),
        ({"patient_id": "-1"}, "patient_id"),
        ({"patient_id": "1.5"}, "patient_id"),
        ({"resource_type": "doctor"}, "resource_type"),
        ({"action": "delete"}, "action"),
        ({"from": "2025-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-06-01T25:00:00"}, "to"),
        ({"from": "2025-06-02", "to": "2025-06-01"}, "to"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"sort": "actor_role"}, "sort"),
    ],
)
def test_bad_filters_are_422(client, admin, query, field_name):
    response = client.get("/audit-events", query_string=query, headers=admin.headers)
    assert_problem(response, 422, "validation_error", field_name)


def test_reading_the_trail_writes_no_event(app, client, admin, planted):
    watch = Watch(app)
    assert client.get("/audit-events", headers=admin.headers).status_code == 200
    assert watch.events() == []


def test_events_filter_by_outcome_and_sort_oldest_first(client, admin, make_account):
    account = make_account("patient")
    client.post("/auth/login", json={"email": account.email, "password": "not the password"})
    client.post("/auth/login", json={"email": account.email, "password": account.password})

    failed = client.get("/audit-events?outcome=failed", headers=admin.headers)
    assert failed.status_code == 200
    assert [event["outcome"] for event in failed.get_json()] == ["failed"]

    oldest_first = client.get("/audit-events?sort=occurred_at", headers=admin.headers)
    times = [event["occurred_at"] for event in oldest_first.get_json()]
    assert times == sorted(times) and len(times) == 2
    assert client.get("/audit-events?outcome=maybe", headers=admin.headers).status_code == 422
    assert client.get("/audit-events?sort=actor_id", headers=admin.headers).status_code == 422
