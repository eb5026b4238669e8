"""Every route, called by every role: the status each one gets.

The table is checked against the app's URL map, so a new route without a row fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from meditrack import create_app

ROLES = ("admin", "receptionist", "doctor", "patient", "anonymous")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def everyone(status: int, anonymous: int = 401) -> dict[str, int]:
    return {role: status for role in ROLES[:-1]} | {"anonymous": anonymous}


def only(allowed: dict[str, int], others: int = 403) -> dict[str, int]:
    return {role: allowed.get(role, others) for role in ROLES[:-1]} | {"anonymous": 401}


PUBLIC = {role: 200 for role in ROLES}


def _later(days: int, hour: int = 10) -> str:
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    return f"{day}T{hour:02d}:00:00+00:00"


@dataclass
class Route:
    expected: dict[str, int]
    body: dict | Callable[[dict], dict] | None = None
    path_ids: dict[str, str] = field(default_factory=dict)  # path variable -> world key
    token: str = "access"


def _new_email(role: str) -> str:
    return f"new-{role}@example.org"


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/"): Route(PUBLIC),
    ("GET", "/health"): Route(PUBLIC),
    ("GET", "/openapi.json"): Route(PUBLIC),
    ("GET", "/docs"): Route(PUBLIC),
    ("GET", "/docs/init.js"): Route(PUBLIC),
    ("GET", "/docs/assets/<path:filename>"): Route(PUBLIC),
    ("POST", "/auth/register"): Route(
        only({"admin": 201}, others=403) | {"anonymous": 403},
        body={"name": "New Receptionist", "password": "long enough pw", "role": "receptionist"},
    ),
    ("POST", "/auth/login"): Route(
        PUBLIC, body={"email": "login@example.org", "password": "correct horse battery"}
    ),
    ("POST", "/auth/refresh"): Route(everyone(200), token="refresh"),
    ("POST", "/auth/logout"): Route(everyone(204)),
    ("GET", "/auth/me"): Route(everyone(200)),
    ("PUT", "/auth/password"): Route(
        everyone(204),
        body={"current_password": "correct horse battery", "new_password": "another long one"},
    ),
    ("GET", "/users"): Route(only({"admin": 200})),
    ("GET", "/users/<int:user_id>"): Route(only({"admin": 200}), path_ids={"user_id": "user"}),
    ("PUT", "/users/<int:user_id>"): Route(
        only({"admin": 200}), body={"name": "Renamed"}, path_ids={"user_id": "user"}
    ),
    ("PATCH", "/users/<int:user_id>"): Route(
        only({"admin": 200}), body={"name": "Renamed"}, path_ids={"user_id": "user"}
    ),
    ("GET", "/departments"): Route(everyone(200)),
    ("POST", "/departments"): Route(only({"admin": 201}), body={"name": "Radiology"}),
    ("GET", "/departments/<int:department_id>"): Route(
        everyone(200), path_ids={"department_id": "department"}
    ),
    ("PUT", "/departments/<int:department_id>"): Route(
        only({"admin": 200}), body={"location": "Wing B"}, path_ids={"department_id": "department"}
    ),
    ("PATCH", "/departments/<int:department_id>"): Route(
        only({"admin": 200}), body={"location": "Wing B"}, path_ids={"department_id": "department"}
    ),
    ("DELETE", "/departments/<int:department_id>"): Route(
        only({"admin": 204}), path_ids={"department_id": "empty_department"}
    ),
    ("GET", "/doctors"): Route(everyone(200)),
    ("POST", "/doctors"): Route(
        only({"admin": 201}),
        body={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.org",
            "specialization": "Neurology",
        },
    ),
    ("GET", "/doctors/<int:doctor_id>"): Route(everyone(200), path_ids={"doctor_id": "doctor"}),
    ("PUT", "/doctors/<int:doctor_id>"): Route(
        only({"admin": 200}), body={"phone": "+44 20 7946 0000"}, path_ids={"doctor_id": "doctor"}
    ),
    ("PATCH", "/doctors/<int:doctor_id>"): Route(
        only({"admin": 200}), body={"phone": "+44 20 7946 0000"}, path_ids={"doctor_id": "doctor"}
    ),
    ("DELETE", "/doctors/<int:doctor_id>"): Route(
        only({"admin": 204}), path_ids={"doctor_id": "idle_doctor"}
    ),
    ("POST", "/doctors/<int:doctor_id>/restore"): Route(
        only({"admin": 200}), path_ids={"doctor_id": "doctor"}
    ),
    ("GET", "/patients"): Route(everyone(200)),
    ("POST", "/patients"): Route(
        only({"admin": 201, "receptionist": 201, "patient": 409}),
        body={"first_name": "Grace", "last_name": "Hopper", "date_of_birth": "1990-12-09"},
    ),
    ("GET", "/patients/<int:patient_id>"): Route(everyone(200), path_ids={"patient_id": "patient"}),
    ("PUT", "/patients/<int:patient_id>"): Route(
        only({"admin": 200, "receptionist": 200, "patient": 200}),
        body={"phone": "+1 555 0100"},
        path_ids={"patient_id": "patient"},
    ),
    ("PATCH", "/patients/<int:patient_id>"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200}),
        body={"allergies": "Penicillin"},
        path_ids={"patient_id": "patient"},
    ),
    ("DELETE", "/patients/<int:patient_id>"): Route(
        only({"admin": 204, "receptionist": 204}), path_ids={"patient_id": "patient"}
    ),
    ("POST", "/patients/<int:patient_id>/restore"): Route(
        only({"admin": 200}), path_ids={"patient_id": "patient"}
    ),
    ("GET", "/appointments"): Route(everyone(200)),
    ("POST", "/appointments"): Route(
        everyone(201),
        body=lambda ids: {
            "doctor_id": ids["doctor"],
            "patient_id": ids["patient"],
            "start_time": _later(5),
        },
    ),
    ("GET", "/appointments/<int:appointment_id>"): Route(
        everyone(200), path_ids={"appointment_id": "appointment"}
    ),
    ("PUT", "/appointments/<int:appointment_id>"): Route(
        everyone(200), body={"reason": "Follow-up"}, path_ids={"appointment_id": "appointment"}
    ),
    ("PATCH", "/appointments/<int:appointment_id>"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200}),
        body={"status": "checked_in"},
        path_ids={"appointment_id": "appointment"},
    ),
    ("DELETE", "/appointments/<int:appointment_id>"): Route(
        only({"admin": 204, "receptionist": 204}), path_ids={"appointment_id": "appointment"}
    ),
    ("POST", "/appointments/<int:appointment_id>/restore"): Route(
        only({"admin": 200}), path_ids={"appointment_id": "appointment"}
    ),
    ("GET", "/appointments/<int:appointment_id>/history"): Route(
        everyone(200), path_ids={"appointment_id": "appointment"}
    ),
    ("GET", "/doctors/<int:doctor_id>/availability"): Route(
        everyone(200), path_ids={"doctor_id": "doctor"}
    ),
    ("GET", "/departments/<int:department_id>/availability"): Route(
        everyone(200), path_ids={"department_id": "department"}
    ),
    ("GET", "/doctors/<int:doctor_id>/time-off"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200}), path_ids={"doctor_id": "doctor"}
    ),
    ("POST", "/doctors/<int:doctor_id>/time-off"): Route(
        only({"admin": 201, "doctor": 201}),
        body=lambda ids: {
            "start_time": _later(20, 8),
            "end_time": _later(20, 12),
            "reason": "Conference",
        },
        path_ids={"doctor_id": "doctor"},
    ),
    ("DELETE", "/doctors/<int:doctor_id>/time-off/<int:time_off_id>"): Route(
        only({"admin": 204, "doctor": 204}),
        path_ids={"doctor_id": "doctor", "time_off_id": "time_off"},
    ),
    ("GET", "/doctors/<int:doctor_id>/calendar.ics"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200}), path_ids={"doctor_id": "doctor"}
    ),
    ("GET", "/patients/<int:patient_id>/calendar.ics"): Route(
        only({"admin": 200, "receptionist": 200, "patient": 200}),
        path_ids={"patient_id": "patient"},
    ),
    ("GET", "/patients/<int:patient_id>/records"): Route(
        only({"admin": 200, "doctor": 200, "patient": 200}), path_ids={"patient_id": "patient"}
    ),
    ("POST", "/patients/<int:patient_id>/records"): Route(
        only({"doctor": 201}), body={"diagnosis": "Migraine"}, path_ids={"patient_id": "patient"}
    ),
    ("GET", "/records/<int:record_id>"): Route(
        only({"admin": 200, "doctor": 200, "patient": 200}), path_ids={"record_id": "record"}
    ),
    ("PUT", "/records/<int:record_id>"): Route(
        only({"doctor": 200}), body={"treatment": "Rest"}, path_ids={"record_id": "record"}
    ),
    ("PATCH", "/records/<int:record_id>"): Route(
        only({"doctor": 200}), body={"treatment": "Rest"}, path_ids={"record_id": "record"}
    ),
    ("DELETE", "/records/<int:record_id>"): Route(
        only({"admin": 204, "doctor": 204}), path_ids={"record_id": "record"}
    ),
    ("POST", "/records/<int:record_id>/restore"): Route(
        only({"admin": 200}), path_ids={"record_id": "record"}
    ),
    ("GET", "/reports/overview"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/departments"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/doctors"): Route(only({"admin": 200, "receptionist": 200, "doctor": 200})),
    ("GET", "/reports/appointments/daily"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200})
    ),
    ("GET", "/reports/patients/demographics"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/overview.csv"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/departments.csv"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/departments.png"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/doctors.csv"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200})
    ),
    ("GET", "/reports/doctors.png"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200})
    ),
    ("GET", "/reports/appointments/daily.csv"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200})
    ),
    ("GET", "/reports/appointments/daily.png"): Route(
        only({"admin": 200, "receptionist": 200, "doctor": 200})
    ),
    ("GET", "/reports/patients/demographics.csv"): Route(only({"admin": 200, "receptionist": 200})),
    ("GET", "/reports/patients/demographics.png"): Route(only({"admin": 200, "receptionist": 200})),
    ("POST", "/emergency-access"): Route(
        only({"doctor": 201}),
        body=lambda ids: {"mrn": ids["mrn"], "reason": "Unconscious, no chart at hand"},
    ),
    ("GET", "/emergency-access"): Route(only({"admin": 200})),
    ("GET", "/emergency-access/<int:access_id>"): Route(
        only({"admin": 200, "doctor": 200}), path_ids={"access_id": "grant"}
    ),
    ("POST", "/emergency-access/<int:access_id>/end"): Route(
        only({"admin": 200, "doctor": 200}), path_ids={"access_id": "grant"}
    ),
    ("GET", "/audit-events"): Route(only({"admin": 200})),
    ("GET", "/patients/<int:patient_id>/access-log"): Route(
        only({"admin": 200, "patient": 200}), path_ids={"patient_id": "patient"}
    ),
}


def url_map_routes() -> set[tuple[str, str]]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - IGNORED_METHODS
    }


def test_every_route_has_a_row_and_every_row_a_route():
    routes = url_map_routes()
    assert routes - ROUTES.keys() == set(), "routes without an expected status per role"
    assert ROUTES.keys() - routes == set(), "rows for routes that no longer exist"


@pytest.fixture
def world(client, factory, make_account):
    """Accounts for each role, and records they relate to."""
    accounts = {role: make_account(role) for role in ROLES[:-1]}
    department = factory.department()
    doctor = factory.doctor(department_id=department["id"], user_id=accounts["doctor"].id)
    patient = factory.patient(user_id=accounts["patient"].id, department_id=department["id"])
    appointment = factory.appointment(
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start=datetime.now(UTC) - timedelta(days=3),
    )
    make_account("patient", email="login@example.org")
    return accounts, {
        "department": department["id"],
        "empty_department": factory.department()["id"],
        "doctor": doctor["id"],
        "idle_doctor": factory.doctor(department_id=department["id"])["id"],
        "patient": patient["id"],
        "user": make_account("receptionist").id,
        "appointment": appointment,
        "time_off": factory.time_off(doctor["id"])["id"],
        "record": _record_by(client, accounts["doctor"], patient["id"]),
        "mrn": patient["mrn"],
        "grant": _grant_to(client, accounts["doctor"], patient["mrn"]),
    }


def _grant_to(client, doctor, mrn: str) -> int:
    response = client.post(
        "/emergency-access",
        json={"mrn": mrn, "reason": "Brought in unconscious at night"},
        headers=doctor.headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _record_by(client, doctor, patient_id: int) -> int:
    response = client.post(
        f"/patients/{patient_id}/records",
        json={"diagnosis": "Hypertension"},
        headers=doctor.headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _path(rule: str, route: Route, ids: dict[str, int]) -> str:
    path = rule.replace("<path:filename>", "swagger-ui.css")
    for variable, key in route.path_ids.items():
        path = path.replace(f"<int:{variable}>", str(ids[key]))
    return path


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "rule"), sorted(ROUTES), ids=lambda v: v)
def test_route_answers_each_role_as_specified(client, world, method, rule, role):
    accounts, ids = world
    route = ROUTES[(method, rule)]
    headers = {}
    if role != "anonymous":
        account = accounts[role]
        token = account.refresh_token if route.token == "refresh" else account.access_token
        headers["Authorization"] = f"Bearer {token}"
    body = route.body(ids) if callable(route.body) else route.body
    body = dict(body) if body is not None else None
    if body is not None and rule == "/auth/register":
        body["email"] = _new_email(role)
    if body is not None and rule == "/doctors":
        body["department_id"] = ids["department"]
    response = client.open(_path(rule, route, ids), method=method, json=body, headers=headers)
    assert response.status_code == route.expected[role], response.get_data(as_text=True)[:300]
