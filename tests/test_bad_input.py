"""Bad input is refused with the right problem, and leaves the database as it was.

Each case names a request against a small world (one department, doctor and patient),
the status and `code` it must get, and, for a 422, the field it must name.
"""

import json

import pytest

from tests.api_helpers import assert_problem
from tests.conftest import count_rows

TABLES = ("departments", "doctors", "doctor_working_hours", "patients", "appointments", "users")
VALID_PATIENT = {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1990-12-10"}


@pytest.fixture
def world(factory):
    department = factory.department(name="Cardiology")
    doctor = factory.doctor(
        department_id=department["id"],
        working_hours=[{"weekday": 0, "start": "09:00", "end": "17:00"}],
    )
    patient = factory.patient(department_id=department["id"])
    return {"department": department["id"], "doctor": doctor["id"], "patient": patient["id"]}


def snapshot(app, client, admin, world) -> dict:
    """Row counts and the world's objects as the API shows them."""
    return {
        "counts": {table: count_rows(app, table) for table in TABLES},
        "objects": [
            client.get(path, headers=admin.headers).get_json()
            for path in (
                f"/departments/{world['department']}",
                f"/doctors/{world['doctor']}",
                f"/patients/{world['patient']}",
            )
        ],
    }


def send(client, admin, world, method, path, **kwargs):
    return client.open(path.format(**world), method=method, headers=admin.headers, **kwargs)


def raw(text: str) -> dict:
    return {"data": text, "content_type": "application/json"}


def case(method, path, request, status, code, field=None, *, id):
    return pytest.param(method, path, request, status, code, field, id=id)


DOCTOR = {
    "first_name": "Gregory",
    "last_name": "House",
    "email": "house@example.org",
    "specialization": "Diagnostics",
}

CASES = [
    # the body itself
    case("POST", "/departments", raw('{"name": "ICU"'), 400, "bad_request", id="truncated-json"),
    case("POST", "/patients", raw("{'first_name': 'A'}"), 400, "bad_request", id="single-quotes"),
    case("PATCH", "/patients/{patient}", raw('{"phone": }'), 400, "bad_request", id="json-patch"),
    case("POST", "/departments", raw("NaN-ish"), 400, "bad_request", id="not-json-at-all"),
    case(
        "POST",
        "/departments",
        {"data": "name=ICU", "content_type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        id="form-body",
    ),
    case(
        "POST",
        "/patients",
        {"data": json.dumps(VALID_PATIENT), "content_type": "text/plain"},
        415,
        "unsupported_media_type",
        id="json-as-text-plain",
    ),
    case(
        "PUT",
        "/doctors/{doctor}",
        {"data": b"\x00\x01", "content_type": "application/octet-stream"},
        415,
        "unsupported_media_type",
        id="binary-body",
    ),
    case(
        "POST",
        "/patients",
        {"json": {**VALID_PATIENT, "address": "x" * (2 * 1024 * 1024)}},
        413,
        "payload_too_large",
        id="two-mebibytes",
    ),
    case("POST", "/departments", {"json": [{"name": "ICU"}]}, 422, "validation_error", id="array"),
    case("POST", "/departments", {"json": "ICU"}, 422, "validation_error", id="bare-string"),
    # fields that do not belong
    case(
        "POST",
        "/departments",
        {"json": {"name": "ICU", "colour": "red"}},
        422,
        "validation_error",
        "colour",
        id="unknown-field",
    ),
    case(
        "PATCH",
        "/patients/{patient}",
        {"json": {"nickname": "Al"}},
        422,
        "validation_error",
        "nickname",
        id="unknown-field-update",
    ),
    *(
        case(
            "POST",
            path,
            {"json": {**body, name: value}},
            422,
            "validation_error",
            name,
            id=f"ro-{name}",
        )
        for path, body, name, value in [
            ("/departments", {"name": "ICU"}, "id", 99),
            ("/departments", {"name": "ICU"}, "doctor_count", 3),
            ("/patients", VALID_PATIENT, "created_at", "2020-01-01T00:00:00Z"),
            ("/patients", VALID_PATIENT, "updated_at", "2020-01-01T00:00:00Z"),
            ("/patients", VALID_PATIENT, "mrn", "0000000000"),
            ("/patients", VALID_PATIENT, "department", {"id": 1, "name": "X"}),
        ]
    ),
    case(
        "PATCH",
        "/patients/{patient}",
        {"json": {"mrn": "1111111111"}},
        422,
        "validation_error",
        "mrn",
        id="ro-mrn-update",
    ),
    case(
        "PUT",
        "/doctors/{doctor}",
        {"json": {"id": 5}},
        422,
        "validation_error",
        "id",
        id="ro-id-update",
    ),
    # wrong types
    *(
        case("PATCH", path, {"json": {name: value}}, 422, "validation_error", name, id=label)
        for label, path, name, value in [
            ("string-for-id", "/patients/{patient}", "department_id", "1"),
            ("float-for-id", "/doctors/{doctor}", "department_id", 1.5),
            ("bool-for-id", "/doctors/{doctor}", "department_id", True),
            ("bool-for-int", "/doctors/{doctor}", "slot_minutes", True),
            ("string-for-int", "/doctors/{doctor}", "slot_minutes", "30"),
            ("float-for-int", "/doctors/{doctor}", "slot_minutes", 30.5),
            ("list-for-string", "/patients/{patient}", "first_name", ["Ada"]),
            ("object-for-string", "/departments/{department}", "name", {"en": "ICU"}),
            ("number-for-string", "/patients/{patient}", "last_name", 42),
            ("null-for-required", "/patients/{patient}", "first_name", None),
            ("string-for-bool", "/doctors/{doctor}", "is_active", "sometimes"),
            ("string-for-list", "/doctors/{doctor}", "working_hours", "Mon 9-5"),
            ("object-for-email", "/doctors/{doctor}", "email", {"a": 1}),
            ("list-for-date", "/patients/{patient}", "date_of_birth", [1990, 1, 1]),
            ("int-for-enum", "/patients/{patient}", "gender", 1),
            ("id-zero", "/patients/{patient}", "department_id", 0),
            ("id-negative", "/doctors/{doctor}", "department_id", -1),
            ("id-past-64-bits", "/doctors/{doctor}", "department_id", 2**64),
        ]
    ),
    # values out of their range
    *(
        case("PATCH", path, {"json": {name: value}}, 422, "validation_error", name, id=label)
        for label, path, name, value in [
            ("future-birth", "/patients/{patient}", "date_of_birth", "2999-01-01"),
            ("impossible-date", "/patients/{patient}", "date_of_birth", "2025-02-30"),
            ("not-iso-date", "/patients/{patient}", "date_of_birth", "17/05/1980"),
            ("datetime-for-date", "/patients/{patient}", "date_of_birth", "1980-05-17T00:00:00"),
            ("missing-department", "/patients/{patient}", "department_id", 987654),
            ("missing-department-doctor", "/doctors/{doctor}", "department_id", 987654),
            ("missing-user", "/patients/{patient}", "user_id", 987654),
            ("nul-in-name", "/patients/{patient}", "first_name", "Ada\x00"),
            ("bell-in-name", "/departments/{department}", "name", "ICU\x07"),
            ("escape-in-name", "/doctors/{doctor}", "last_name", "\x1b[31mRed"),
            ("newline-in-name", "/patients/{patient}", "last_name", "By\nron"),
            ("del-in-name", "/doctors/{doctor}", "specialization", "Card\x7fiology"),
            ("nul-in-free-text", "/patients/{patient}", "allergies", "Pollen\x00"),
            ("nul-in-email", "/patients/{patient}", "email", "a\x00@example.org"),
            ("101-char-name", "/departments/{department}", "name", "x" * 101),
            ("blank-name", "/departments/{department}", "name", "   "),
            ("10001-char-allergies", "/patients/{patient}", "allergies", "x" * 10_001),
            ("long-email", "/patients/{patient}", "email", "a" * 245 + "@example.org"),
            ("long-phone", "/patients/{patient}", "phone", "1" * 33),
            ("letters-in-phone", "/doctors/{doctor}", "phone", "call me"),
            ("bad-email", "/doctors/{doctor}", "email", "not-an-email"),
            ("slot-4", "/doctors/{doctor}", "slot_minutes", 4),
            ("slot-241", "/doctors/{doctor}", "slot_minutes", 241),
            ("bad-blood-type", "/patients/{patient}", "blood_type", "Z"),
        ]
    ),
    *(
        case(
            "PUT",
            "/doctors/{doctor}",
            {"json": {"working_hours": hours}},
            422,
            "validation_error",
            field,
            id=label,
        )
        for label, hours, field in [
            (
                "weekday-7",
                [{"weekday": 7, "start": "09:00", "end": "10:00"}],
                "working_hours.0.weekday",
            ),
            (
                "string-weekday",
                [{"weekday": "1", "start": "09:00", "end": "10:00"}],
                "working_hours.0.weekday",
            ),
            ("period-without-end", [{"weekday": 1, "start": "09:00"}], "working_hours.0.end"),
            ("null-period", [None], "working_hours.0"),
            ("period-as-string", ["Mon 09:00-17:00"], "working_hours.0"),
            (
                "seconds-in-time",
                [{"weekday": 1, "start": "09:00:00", "end": "10:00"}],
                "working_hours.0.start",
            ),
        ]
    ),
    case(
        "POST",
        "/doctors",
        {"json": {**DOCTOR, "department_id": 987654}},
        422,
        "validation_error",
        "department_id",
        id="create-missing-department",
    ),
    # query strings
    *(
        case("GET", path, {"query_string": query}, 422, "validation_error", field, id=label)
        for label, path, query, field in [
            ("per-page-0", "/patients", {"per_page": 0}, "per_page"),
            ("per-page-101", "/doctors", {"per_page": 101}, "per_page"),
            ("unknown-sort", "/departments", {"sort": "phone"}, "sort"),
            ("nul-in-q", "/patients", {"q": "a\x00b"}, "q"),
            ("long-q", "/doctors", {"q": "x" * 101}, "q"),
            ("missing-department-query", "/doctors", {"department_id": 987654}, "department_id"),
            ("huge-department-query", "/patients", {"department_id": "9" * 30}, "department_id"),
            ("bad-date-query", "/patients", {"date_of_birth": "2025-02-30"}, "date_of_birth"),
        ]
    ),
    # ids in the path that no row can have
    *(
        case(
            method, f"/{resource}/{number}", {}, 404, "not_found", id=f"{method}-{resource}-{label}"
        )
        for method in ("GET", "PATCH", "DELETE")
        for resource in ("departments", "doctors", "patients")
        for label, number in [("2**63", 2**63), ("huge", "99999999999999999999999")]
    ),
    case(
        "POST", "/patients/99999999999999999999999/restore", {}, 404, "not_found", id="restore-huge"
    ),
]


@pytest.mark.parametrize(("method", "path", "request_kwargs", "status", "code", "field"), CASES)
def test_bad_input_is_refused_and_changes_nothing(
    app, client, admin, world, method, path, request_kwargs, status, code, field
):
    before = snapshot(app, client, admin, world)

    response = send(client, admin, world, method, path, **request_kwargs)

    assert_problem(response, status, code, *([field] if field else []))
    assert snapshot(app, client, admin, world) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/departments", '{"name": ' + "[" * 1000 + "]" * 1000 + "}"),
        ("/patients", "[" * 1000 + "]" * 1000),
        ("/doctors", '{"working_hours": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"),
        ("/departments", "[" * 100_000),
    ],
    ids=["nested-in-field", "nested-list", "nested-objects", "unclosed"],
)
def test_deeply_nested_json_is_a_client_error(app, client, admin, world, path, body):
    before = snapshot(app, client, admin, world)
    response = client.post(path, data=body, content_type="application/json", headers=admin.headers)
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert snapshot(app, client, admin, world) == before


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/departments/{department}", "name", "x" * 100),
        ("/patients/{patient}", "allergies", "x" * 10_000),
        ("/patients/{patient}", "address", "Line 1\nLine 2\tflat 3"),
        ("/patients/{patient}", "date_of_birth", "1900-01-01"),
        ("/doctors/{doctor}", "slot_minutes", 240),
    ],
)
def test_the_limits_themselves_are_accepted(client, admin, world, path, field, value):
    response = client.patch(path.format(**world), json={field: value}, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[field] == value


def test_a_post_without_a_body_is_a_validation_error(app, client, admin):
    response = client.post("/departments", headers=admin.headers)
    assert_problem(response, 422, "validation_error", "name")
    assert count_rows(app, "departments") == 0
