"""docs/meditrack.postman_collection.json: what scripts/build_collection.py builds from
docs/openapi.json, one request per operation, in an order a session can run.

`make collection-test` runs it with newman against a live server; these tests need only
Python, so that `make test` catches a stale or broken collection without Node.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "docs" / "meditrack.postman_collection.json"
SPEC = ROOT / "docs" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")
VARIABLE = re.compile(r"{{(\$?\w+)}}")
SETS = re.compile(r'pm\.collectionVariables\.set\("(\w+)"')


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder():
    return load_script("build_collection")


@pytest.fixture(scope="module")
def spec():
    return json.loads(SPEC.read_text())


@pytest.fixture(scope="module")
def collection():
    return json.loads(COLLECTION.read_text())


def requests_of(collection: dict) -> list[dict]:
    """The requests in the order newman runs them (folders depth first)."""
    found = []
    for item in collection["item"]:
        found += requests_of(item) if "item" in item else [item]
    return found


def route_of(request: dict) -> tuple[str, str]:
    """(method, the spec's path template) of a Postman request."""
    path = "/" + "/".join(re.sub(r"^:(\w+)$", r"{\1}", part) for part in request["url"]["path"])
    return request["method"].lower(), path.rstrip("/") or "/"


def spec_operations(spec: dict) -> dict[tuple[str, str], dict]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_committed_collection_is_what_the_spec_builds(builder, spec):
    assert COLLECTION.read_text() == builder.render(spec), (
        "docs/meditrack.postman_collection.json is stale: run "
        ".venv/bin/python scripts/build_collection.py (or make collection)"
    )


def test_the_build_is_deterministic(builder, spec):
    assert builder.render(spec) == builder.render(copy.deepcopy(spec))
    ids = [item["id"] for item in requests_of(builder.build(spec))]
    assert len(set(ids)) == len(ids)


def test_every_operation_is_one_request_named_after_its_summary(spec, collection):
    operations = spec_operations(spec)
    routes = [route_of(item["request"]) for item in requests_of(collection)]
    assert sorted(routes) == sorted(operations), "each operation of the spec, exactly once"
    for item in requests_of(collection):
        operation = operations[route_of(item["request"])]
        assert item["name"].startswith(operation["summary"]), item["name"]
        assert f"operationId `{operation['operationId']}`" in item["request"]["description"]


def test_sign_in_comes_first_and_sign_out_last(collection):
    routes = [route_of(item["request"]) for item in requests_of(collection)]
    assert routes[0] == ("post", "/auth/login")
    assert routes[-1] == ("post", "/auth/logout")


def test_each_request_asserts_the_status_and_media_types_the_spec_promises(spec, collection):
    operations = spec_operations(spec)
    for item in requests_of(collection):
        operation = operations[route_of(item["request"])]
        status = min(int(code) for code in operation["responses"] if code.startswith("2"))
        tests = next(event for event in item["event"] if event["listen"] == "test")
        source = "\n".join(tests["script"]["exec"])
        assert f"pm.response.to.have.status({status});" in source, item["name"]
        media = sorted(operation["responses"][str(status)].get("content", {}))
        if media:
            assert f"to.be.oneOf({json.dumps(media)})" in source, item["name"]


def test_every_variable_is_set_before_a_request_uses_it(collection):
    """baseUrl is the collection's; every other variable comes from an earlier answer (or
    the request's own pre-request script), so the order of the session holds together."""
    known = {"baseUrl"}
    inherited = json.dumps(collection["auth"])
    for item in requests_of(collection):
        scripts = {event["listen"]: "\n".join(event["script"]["exec"]) for event in item["event"]}
        known |= set(SETS.findall(scripts.get("prerequest", "")))
        request = item["request"]
        sent = json.dumps({key: request.get(key) for key in ("url", "header", "body", "auth")})
        if "auth" not in request:
            sent += inherited
        used = {name for name in VARIABLE.findall(sent) if not name.startswith("$")}
        assert used <= known, f"{item['name']} uses {sorted(used - known)} before it is set"
        known |= set(SETS.findall(scripts.get("test", "")))


def test_signing_out_revokes_nothing_a_later_request_needs(collection):
    """Refreshing revokes the old admin token and signing out the new one: nothing after
    either may use what it revoked without taking the new pair."""
    requests = requests_of(collection)
    routes = [route_of(item["request"]) for item in requests]
    refresh = routes.index(("post", "/auth/refresh"))
    assert refresh == len(requests) - 2
    kept = "\n".join(
        next(e for e in requests[refresh]["event"] if e["listen"] == "test")["script"]["exec"]
    )
    assert 'set("adminToken"' in kept and 'set("adminRefreshToken"' in kept


def test_the_build_names_an_operation_without_a_step(builder, spec):
    grown = copy.deepcopy(spec)
    grown["paths"]["/wards"] = {
        "get": {"operationId": "list_wards", "summary": "List wards.", "responses": {"200": {}}}
    }
    with pytest.raises(builder.SpecError, match="list_wards"):
        builder.build(grown)


def test_the_build_names_a_step_whose_operation_is_gone(builder, spec):
    shrunk = copy.deepcopy(spec)
    del shrunk["paths"]["/emergency-access/{access_id}/end"]
    with pytest.raises(builder.SpecError, match="end_emergency_access"):
        builder.build(shrunk)


def test_the_build_refuses_an_operation_without_an_operation_id(builder, spec):
    anonymous = copy.deepcopy(spec)
    del anonymous["paths"]["/health"]["get"]["operationId"]
    with pytest.raises(builder.SpecError, match="GET /health has no operationId"):
        builder.build(anonymous)


def request_for(collection: dict, method: str, path: str) -> dict:
    return next(
        item["request"]
        for item in requests_of(collection)
        if route_of(item["request"]) == (method, path)
    )


def test_bodies_come_from_the_spec_examples_without_read_only_fields(builder, spec):
    """An example in the spec fills the body; what SESSION sets wins; fields the request
    schema does not take (ids, counts) are never sent, nor ids SESSION does not give."""
    changed = copy.deepcopy(spec)
    operation = changed["paths"]["/departments/{department_id}"]["put"]
    operation["requestBody"]["content"]["application/json"]["example"] = {
        "id": 3,
        "doctor_count": 2,
        "head_doctor_id": 7,
        "location": "Building A, 2nd floor",
        "phone": "+1-212-555-0110",
    }
    raw = request_for(builder.build(changed), "put", "/departments/{department_id}")["body"]
    assert json.loads(raw["raw"]) == {
        "location": "Building A, 2nd floor",
        "phone": "+1-212-555-0161",
    }


def test_ids_from_earlier_answers_are_sent_as_numbers(collection):
    raw = request_for(collection, "post", "/appointments")["body"]["raw"]
    assert '"doctor_id": {{doctorId}}' in raw
    assert '"start_time": "{{slotStart}}"' in raw


def test_collection_test_serves_the_demo_as_make_run_does():
    """`make collection-test` starts gunicorn with `make run`'s arguments (and no control
    socket, so that a `make run` beside it keeps its own)."""
    server = load_script("run_collection").SERVER
    assert "--no-control-socket" in server
    started = " ".join(argument for argument in server if argument != "--no-control-socket")
    assert f"$(BIN)/gunicorn {started}" in (ROOT / "Makefile").read_text()
