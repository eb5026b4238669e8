"""The committed docs/openapi.json is the spec the app serves, and the spec is complete."""

from __future__ import annotations

import json
from pathlib import Path

from meditrack import create_app

ROOT = Path(__file__).resolve().parent.parent


def live_spec() -> dict:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_committed_spec_matches_the_live_one():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == live_spec(), "docs/openapi.json is stale: run `make openapi`"


def test_spec_declares_bearer_auth_and_public_operations():
    spec = live_spec()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/auth/login"]["post"]["security"] == []
    assert spec["paths"]["/health"]["get"]["security"] == []


def test_every_operation_has_a_summary_and_documents_its_errors():
    for path, item in live_spec()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            codes = set(operation["responses"])
            assert any(code.startswith("2") for code in codes), f"{method} {path}"
            if operation.get("security") != []:
                assert "401" in codes, f"{method.upper()} {path} does not document 401"


def test_errors_are_documented_as_problem_json():
    responses = live_spec()["components"]["responses"]
    assert "application/problem+json" in responses["NOT_FOUND"]["content"]


VERBS = {
    "list", "get", "create", "book", "add", "request", "register", "update", "put",
    "archive", "restore", "delete", "remove", "end", "report", "login", "logout",
    "refresh", "change", "check", "api", "download",
}  # fmt: skip


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_stable_readable_operation_id():
    """Generated clients name their functions after operationIds (`list_patients`), so
    each is present, unique, snake_case and starts with a verb; PUT, an alias of PATCH,
    is `put_<thing>` beside `update_<thing>`."""
    ids = {}
    for name, operation in operations(live_spec()):
        operation_id = operation.get("operationId")
        assert operation_id, f"{name} has no operationId"
        assert operation_id.isidentifier() and operation_id == operation_id.lower(), name
        assert operation_id.split("_")[0] in VERBS, f"{name}: {operation_id} starts with no verb"
        assert operation_id not in ids, f"{name} and {ids.get(operation_id)}: {operation_id}"
        ids[operation_id] = name
    assert ids["list_patients"] == "GET /patients"
    assert ids["book_appointment"] == "POST /appointments"
    assert ids["update_patient"] == "PATCH /patients/{patient_id}"
    assert ids["put_patient"] == "PUT /patients/{patient_id}"
