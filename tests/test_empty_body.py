"""An empty body typed as JSON is not JSON: every operation that reads a body refuses it
with a 400 that changes nothing; operations that read no body ignore the header.

The operations are found in the app's own routes, so that a new one is covered the day it
is added."""

from __future__ import annotations

import re

import pytest

from tests.api_helpers import assert_problem
from tests.hostile_helpers import table_state

EMPTY_JSON = {"data": b"", "content_type": "application/json"}
#: A path argument -> the key of the world object it names.
ARGUMENT = re.compile(r"<int:(\w+)_id>")


@pytest.fixture
def world(app, client, factory, doctor_account, admin):
    account, doctor = doctor_account
    department = factory.department(name="Cardiology")
    patient = factory.patient(department_id=department["id"])
    appointment = factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])
    record = client.post(
        f"/patients/{patient['id']}/records",
        json={"diagnosis": "Hypertension"},
        headers=account.headers,
    )
    assert record.status_code == 201, record.get_json()
    time_off = factory.time_off(doctor["id"])
    return {
        "user": admin.id,
        "department": department["id"],
        "doctor": doctor["id"],
        "patient": patient["id"],
        "appointment": appointment,
        "record": record.get_json()["id"],
        "time_off": time_off["id"],
    }


def _operations(app, *, with_body: bool) -> list[tuple[str, str]]:
    """(method, rule) of every POST, PUT and PATCH whose view reads a JSON body (or not)."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        takes_body = any(parameter["in"] == "json" for parameter in parameters)
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            if takes_body == with_body:
                found.append((method, rule.rule))
    return found


def _path(rule: str, world: dict) -> str:
    return ARGUMENT.sub(lambda match: str(world[match.group(1)]), rule)


def test_every_operation_with_a_body_refuses_an_empty_one(app, client, admin, world):
    operations = _operations(app, with_body=True)
    methods = {method for method, _ in operations}
    assert methods == {"POST", "PUT", "PATCH"}, operations
    # every resource's update is among them
    for resource in ("users", "departments", "doctors", "patients", "appointments", "records"):
        for method in ("PUT", "PATCH"):
            assert any(
                method == m and rule.startswith(f"/{resource}/") for m, rule in operations
            ), (method, resource)
    before = table_state(app)
    for method, rule in operations:
        response = client.open(
            _path(rule, world), method=method, headers=admin.headers, **EMPTY_JSON
        )
        body = assert_problem(response, 400, "bad_request")
        assert "empty" in body["detail"], (method, rule)
    assert table_state(app) == before


def test_an_empty_update_of_each_resource_changes_nothing(app, client, admin, world):
    before = table_state(app)
    for resource in ("departments", "doctors", "patients", "appointments", "records"):
        path = f"/{resource}/{world[resource.removesuffix('s')]}"
        for method in ("PUT", "PATCH"):
            response = client.open(path, method=method, headers=admin.headers, **EMPTY_JSON)
            assert_problem(response, 400, "bad_request")
    assert table_state(app) == before


def test_an_empty_object_is_still_an_update_that_changes_nothing(app, client, admin, world):
    before = table_state(app)
    response = client.patch(f"/patients/{world['patient']}", json={}, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    assert table_state(app) == before


def test_operations_without_a_body_ignore_the_header(app, client, make_account, admin, world):
    operations = _operations(app, with_body=False)
    assert ("POST", "/auth/logout") in operations
    assert ("POST", "/auth/refresh") in operations
    client.delete(f"/patients/{world['patient']}", headers=admin.headers)
    restored = client.post(
        f"/patients/{world['patient']}/restore", headers=admin.headers, **EMPTY_JSON
    )
    assert restored.status_code == 200, restored.get_json()
    account = make_account("receptionist")
    refreshed = client.post(
        "/auth/refresh",
        headers={"Authorization": f"Bearer {account.refresh_token}"},
        **EMPTY_JSON,
    )
    assert refreshed.status_code == 200, refreshed.get_json()
    logout = client.post(
        "/auth/logout",
        headers={"Authorization": f"Bearer {refreshed.get_json()['access_token']}"},
        **EMPTY_JSON,
    )
    assert logout.status_code == 204
