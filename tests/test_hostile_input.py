"""Hostile input is refused with a 4xx problem and changes nothing; hostile text that is
allowed is stored and shown byte for byte.

Each refusal is a request against a small world (a department, a doctor working every
day, a patient; each made when a case refers to it). It must answer its status and
`code` as application/problem+json, name its fields, leave every target table (patients,
appointments, users, ...) exactly as it was, and write no audit event but those a
refusal records: a `denied` access (a 404 on a patient's data) or a `failed` sign-in.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.api_helpers import assert_problem
from tests.conftest import count_rows
from tests.hostile_helpers import (
    DAY,
    DEPARTMENT,
    DOCTOR,
    EVERY_DAY,
    LONG,
    PATIENT,
    START,
    World,
    audit_outcomes_since,
    body,
    case,
    last_audit_id,
    query,
    raw,
    raw_query,
    resolve,
    slug,
    table_state,
    twice,
)

NEW_PATIENT = {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1990-12-10"}
NEW_DOCTOR = {
    "first_name": "Gregory",
    "last_name": "House",
    "email": "house@example.org",
    "specialization": "Diagnostics",
    "department_id": DEPARTMENT,
}
BOOKING = {"patient_id": PATIENT, "doctor_id": DOCTOR, "start_time": START.isoformat()}
LOGIN = {"email": "nobody@example.org", "password": "correct horse battery"}
RECORDS = "/patients/{patient}/records"

#: label -> (method, path, a valid body, caller): the endpoints the cases are sent to.
ENDPOINTS = {
    "patient": ("POST", "/patients", NEW_PATIENT, "admin"),
    "patient-update": ("PATCH", "/patients/{patient}", {}, "admin"),
    "department": ("POST", "/departments", {"name": "ICU"}, "admin"),
    "doctor": ("POST", "/doctors", NEW_DOCTOR, "admin"),
    "booking": ("POST", "/appointments", BOOKING, "admin"),
    "login": ("POST", "/auth/login", LOGIN, "anonymous"),
    "record": ("POST", RECORDS, {"diagnosis": "Influenza"}, "doctor"),
}

#: Every kind of text field (names, free text, email, phone) of each endpoint.
TEXT_FIELDS = {
    "patient": (
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "allergies",
        "emergency_contact_name",
        "emergency_contact_phone",
    ),
    "patient-update": ("last_name", "email", "phone", "allergies"),
    "department": ("name", "description", "location", "phone"),
    "doctor": ("first_name", "last_name", "email", "phone", "specialization", "license_number"),
    "booking": ("reason", "notes"),
    "login": ("email",),
    "record": ("diagnosis", "treatment", "notes"),
}


def fields_case(prefix: str, endpoint: str, values: dict, status: int = 422, *named):
    """The endpoint's valid body with `values` over it; a 422 names each of them."""
    method, path, valid, caller = ENDPOINTS[endpoint]
    fields = named or (tuple(values) if status == 422 else ())
    request = body({**valid, **values})
    return case(f"{prefix}-{endpoint}", method, path, request, status, *fields, caller=caller)


def body_case(prefix: str, endpoint: str, request: dict, status: int, *fields):
    method, path, _, caller = ENDPOINTS[endpoint]
    return case(f"{prefix}-{endpoint}", method, path, request, status, *fields, caller=caller)


def query_case(prefix: str, path: str, name: str, value, label: str = ""):
    ident = f"{prefix}-{slug(path)}-{name}" + (f"-{label}" if label else "")
    return case(ident, "GET", path, query({name: value}), 422, name)


# --- NUL and other control characters ----------------------------------------------------


def with_nul(name: str) -> str:
    if "email" in name:
        return "ada\x00@example.org"
    return "555\x000199" if "phone" in name else "Ad\x00a"


CONTROL_CASES = [
    *(
        fields_case("nul-in-every-text-field", endpoint, {name: with_nul(name) for name in names})
        for endpoint, names in TEXT_FIELDS.items()
    ),
    fields_case("nul-alone", "department", {"name": "\x00"}),
    fields_case("nul-in-enum", "patient", {"gender": "female\x00"}),
    fields_case("nul-in-enum", "patient-update", {"blood_type": "A+\x00"}),
    fields_case("nul-in-date", "patient", {"date_of_birth": "1990-12-10\x00"}),
    fields_case("nul-in-datetime", "booking", {"start_time": START.isoformat() + "\x00"}),
    fields_case("nul-then-junk-in-datetime", "booking", {"end_time": f"{DAY}T11:00\x00junk"}),
    fields_case("nul-in-key", "department", {"na\x00me": "x"}),
    body_case("nul-escaped", "department", raw('{"name": "ICU\\u0000"}'), 422, "name"),
    fields_case("c1-csi", "patient", {"first_name": "Ada\x9b31m"}),
    fields_case("c1-nel", "patient", {"allergies": "Pollen\x85dust"}),
    fields_case("c1-nel", "department", {"description": "\x85"}),
    *(
        query_case("nul-query", path, name, value)
        for path, name, value in [
            ("/patients", "q", "Ada\x00"),
            ("/patients", "sort", "last_name\x00"),
            ("/patients", "page", "1\x00"),
            ("/doctors", "specialization", "Cardio\x00"),
            ("/doctors", "department_id", "1\x00"),
            ("/appointments", "status", "scheduled\x00"),
            ("/appointments", "from", f"{DAY}\x00"),
            ("/users", "role", "admin\x00"),
            ("/reports/overview", "from", f"{DAY}\x00"),
        ]
    ),
]

# --- 100 000 characters ------------------------------------------------------------------


#: Long for any field, yet within the request head's own limits (a URL of 8 KiB, headers
#: of 16 KiB: tests/test_request_limits.py), so that the field's own check answers.
LONG_IN_HEAD = 4000


def long_value(name: str) -> str:
    if "email" in name:
        return "a" * LONG + "@example.org"
    return "1" * LONG if "phone" in name else "x" * LONG


LONG_CASES = [
    *(
        fields_case("long-every-text-field", endpoint, {name: long_value(name) for name in names})
        for endpoint, names in TEXT_FIELDS.items()
    ),
    fields_case("long-password", "login", {"password": "p" * LONG}),
    fields_case("long-unknown-key", "department", {"k" * LONG: 1}),
    *(
        query_case("long-query", path, name, value)
        for path, name, value in [
            ("/patients", "q", "x" * LONG_IN_HEAD),
            ("/patients", "sort", "x" * LONG_IN_HEAD),
            ("/patients", "department_id", "9" * LONG_IN_HEAD),
            ("/patients", "page", "x" * LONG_IN_HEAD),
            ("/doctors", "specialization", "x" * LONG_IN_HEAD),
            ("/appointments", "status", "scheduled," * (LONG_IN_HEAD // 10)),
            ("/appointments", "from", "2" * LONG_IN_HEAD),
        ]
    ),
]

# --- ids ---------------------------------------------------------------------------------

PATH_IDS = {
    "2**70": 2**70,
    "23-nines": "99999999999999999999999",
    "2**63": 2**63,
    "2**32": 2**32,
    "2**31": 2**31,
    "minus-1": -1,
    "zero": 0,
    "float": "1.0",
    "true": "true",
    "fullwidth-one": "\uff11",
}
# werkzeug's int converter matches any Unicode digit (`\d`) and int() reads them, so
# /patients/<FULLWIDTH DIGIT ONE> was patient 1: IdConverter takes ASCII digits only.

PATH_ID_CASES = [
    case(
        f"path-{method}-{resource}-{label}",
        method,
        f"/{resource}/{number}",
        request,
        404,
        needs=needs,
    )
    for resource, method, request, needs in [
        ("patients", "GET", {}, ("patient",)),
        ("patients", "DELETE", {}, ("patient",)),
        ("doctors", "PATCH", body({"first_name": "Eve"}), ("doctor",)),
        ("departments", "DELETE", {}, ("department",)),
        ("appointments", "PATCH", body({"reason": "x"}), ()),  # the world has none
    ]
    for label, number in PATH_IDS.items()
    if resource != "appointments" or label in ("2**70", "zero", "fullwidth-one")
]

BODY_IDS = {
    "2**70": 2**70,
    "23-nines": 99999999999999999999999,
    "2**64": 2**64,
    "2**63": 2**63,
    "2**32": 2**32,
    "2**31": 2**31,
    "minus-1": -1,
    "zero": 0,
    "string": "1",
    "float": 1.0,
    "half": 1.5,
    "true": True,
    "false": False,
    "list": [1],
    "object": {"id": 1},
    "empty-string": "",
}

#: endpoint -> (its id fields, the BODY_IDS labels sent to them; None: all of them)
ID_FIELDS = {
    "patient": (("department_id",), None),
    "booking": (("patient_id", "doctor_id"), None),
    "doctor": (("department_id", "user_id"), ("2**70", "2**31", "zero", "string", "true")),
    "patient-update": (("department_id", "user_id"), ("2**63", "minus-1", "float", "false")),
    "record": (("appointment_id",), ("2**70", "string", "true")),
}

BODY_ID_CASES = [
    *(
        fields_case(f"id-{label}", endpoint, dict.fromkeys(names, value))
        for endpoint, (names, labels) in ID_FIELDS.items()
        for label, value in BODY_IDS.items()
        if labels is None or label in labels
    ),
    fields_case("id-null-required", "booking", {"doctor_id": None}),
    fields_case("id-null-required", "doctor", {"department_id": None}),
    body_case("id-infinity-literal", "booking", raw('{"doctor_id": Infinity}'), 400),
    body_case("id-nan-literal", "booking", raw('{"doctor_id": NaN}'), 400),
    body_case("id-5000-digits", "booking", raw('{"doctor_id": ' + "9" * 5000 + "}"), 400),
    body_case("id-1e400", "booking", raw('{"doctor_id": 1e400}'), 422, "doctor_id"),
    *(
        query_case("id-query", "/patients", "department_id", value, label)
        for label, value in [
            ("2**70", str(2**70)),
            ("minus-1", "-1"),
            ("float", "1.0"),
            ("underscore", "1_0"),
            ("arabic-digit", "\u0661"),
            ("spaces", " 1 "),
        ]
    ),
    query_case("id-query", "/appointments", "doctor_id", str(2**70), "2**70"),
    query_case("id-query", "/appointments", "patient_id", "1.5", "half"),
    query_case("id-query", "/patients", "page", "\u0662", "arabic-digit"),
    query_case("id-query", "/doctors", "per_page", "10.0", "float"),
    query_case("id-query", "/doctors/{doctor}/availability", "days", "1_0", "underscore"),
]

# --- wrong shapes ------------------------------------------------------------------------

SHAPE_CASES = [
    *(
        fields_case(f"shape-{label}", endpoint, {name: value})
        for label, endpoint, name, value in [
            ("list-for-text", "patient", "first_name", ["Ada"]),
            ("object-for-text", "patient", "last_name", {"en": "Byron"}),
            ("object-for-phone", "patient-update", "phone", {"n": 1}),
            ("nested-list-for-text", "patient-update", "allergies", [["x"]]),
            ("number-for-text", "doctor", "first_name", 42),
            ("bool-for-text", "doctor", "specialization", True),
            ("object-for-text", "booking", "reason", {"text": "x"}),
            ("list-for-date", "patient", "date_of_birth", [DAY]),
            ("object-for-datetime", "booking", "start_time", {"date": DAY}),
            ("string-for-list", "doctor", "working_hours", "Mon 9-5"),
            ("object-for-list", "doctor", "working_hours", EVERY_DAY[0]),
            ("string-for-int", "doctor", "slot_minutes", "30"),
            ("object-for-int", "doctor", "slot_minutes", {"v": 30}),
            ("bool-for-int", "doctor", "slot_minutes", True),
            ("bool-for-int", "booking", "duration_minutes", False),
            ("string-for-bool", "doctor", "is_active", "true"),
            ("object-for-text", "login", "password", {"p": 1}),
        ]
    ),
    fields_case(
        "shape-list-for-object",
        "doctor",
        {"working_hours": [[0, "09:00", "10:00"]]},
        422,
        "working_hours.0",
    ),
    fields_case(
        "shape-bool-for-weekday",
        "doctor",
        {"working_hours": [{"weekday": True, "start": "09:00", "end": "10:00"}]},
        422,
        "working_hours.0.weekday",
    ),
    *(
        body_case(f"body-{label}", endpoint, request, 422, "_schema")
        for endpoint in ("patient", "patient-update", "booking", "login")
        for label, request in [
            ("array", body([NEW_PATIENT])),
            ("string", body("Ada Byron")),
            ("number", raw("42")),
            ("null", raw("null")),
        ]
    ),
]

# --- nesting -----------------------------------------------------------------------------

DEEP_BODIES = {
    "list-1000": "[" * 1000 + "]" * 1000,
    "object-1000": '{"a": ' * 1000 + "1" + "}" * 1000,
    "in-field-1000": '{"first_name": ' + "[" * 1000 + "]" * 1000 + "}",
    "in-field-40": '{"first_name": ' + "[" * 40 + "]" * 40 + "}",
    "open-100000": "[" * 100_000,
    "closed-100000": "[" * 100_000 + "]" * 100_000,
    "objects-100000": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "open-objects-100000": '{"a":' * 100_000,
}
A_FEW_DEEP = ("in-field-40", "objects-100000")

DEEP_CASES = [
    *(body_case(f"deep-{label}", "patient", raw(text), 400) for label, text in DEEP_BODIES.items()),
    *(
        body_case(f"deep-{label}", endpoint, raw(DEEP_BODIES[label]), 400)
        for endpoint in ("patient-update", "login")
        for label in A_FEW_DEEP
    ),
    *(
        case(
            f"deep-{label}-booking-with-idempotency-key",
            "POST",
            "/appointments",
            {**raw(DEEP_BODIES[label]), "headers": {"Idempotency-Key": f"deep-{label}"}},
            400,
        )
        for label in A_FEW_DEEP
    ),
]

# --- encodings ---------------------------------------------------------------------------

BAD_TEXT = {
    "ff-fe": b'{"first_name": "\xff\xfe"}',
    "overlong-slash": b'{"first_name": "\xc0\xaf"}',
    "encoded-surrogate": b'{"first_name": "\xed\xa0\x80"}',
    "truncated-sequence": b'{"first_name": "\xe2\x82"}',
    "latin-1": b'{"first_name": "Ren\xe9"}',
    "utf-16": '{"first_name": "Ada"}'.encode("utf-16"),
    "utf-32": '{"first_name": "Ada"}'.encode("utf-32"),
    "utf-8-bom": b'\xef\xbb\xbf{"first_name": "Ada"}',
    "lone-high-surrogate": b'{"first_name": "\\ud800"}',
    "lone-low-surrogate": b'{"first_name": "A\\udfffB"}',
    "reversed-pair": b'{"first_name": "\\ude00\\ud83d"}',
    "surrogate-in-key": b'{"\\ud800": "x"}',
}
A_FEW_BAD = ("ff-fe", "lone-high-surrogate")

ENCODING_CASES = [
    *(body_case(f"utf8-{label}", "patient", raw(data), 400) for label, data in BAD_TEXT.items()),
    *(
        body_case(f"utf8-{label}", endpoint, raw(BAD_TEXT[label]), 400)
        for endpoint in ("patient-update", "record")
        for label in A_FEW_BAD
    ),
    body_case("utf8-ff", "login", raw(b'{"email": "\xff@example.org", "password": "x"}'), 400),
    body_case("utf8-surrogate", "login", raw(b'{"password": "\\udc00xxxxxxxxxxxxxx"}'), 400),
    body_case(
        "utf8-charset-latin-1",
        "department",
        raw(b'{"name": "Caf\xe9"}', "application/json; charset=latin-1"),
        400,
    ),
    *(
        case(f"utf8-query-{label}", "GET", path, request, 422, name)
        for label, path, request, name in [
            ("percent-ff", "/patients", query("q=%FF"), "q"),
            ("raw-ff", "/patients", raw_query("q=\xff"), "q"),
            ("encoded-surrogate", "/doctors", query("q=%ED%A0%80"), "q"),
            ("in-name", "/patients", query("q%FF=1"), "q\ufffd"),
            ("unknown-parameter", "/patients", query("nickname=%FF"), "nickname"),
            ("report", "/reports/overview", query("from=%FF"), "from"),
        ]
    ),
]

# --- dates and times ---------------------------------------------------------------------

DATE_CASES = [
    *(
        fields_case(f"date-{label}", "patient", {"date_of_birth": value})
        for label, value in [
            ("feb-30", "2025-02-30"),
            ("month-13", "2025-13-01"),
            ("year-0", "0000-01-01"),
            ("number", 19901210),
            ("fullwidth-digits", "\uff11\uff19\uff19\uff10-12-10"),
            ("arabic-digits", "\u0661\u0669\u0669\u0660-12-10"),
            ("with-time", "1990-12-10T00:00:00Z"),
            ("trailing-newline", "1990-12-10\n"),
        ]
    ),
    fields_case("date-feb-30", "record", {"record_date": "2025-02-30"}),
    *(
        fields_case(f"datetime-{label}", "booking", {"start_time": value})
        for label, value in [
            ("year-0", "0000-01-01T10:00:00Z"),
            ("year-10000", "10000-01-01T10:00:00Z"),
            ("year-99999", "99999-01-01T00:00:00Z"),
            ("year-minus-1", "-0001-01-01T00:00:00Z"),
            ("year-9999", "9999-12-31T23:59:59Z"),
            ("offset-25", f"{DAY}T10:00:00+25:00"),
            ("offset-99-99", f"{DAY}T10:00:00+99:99"),
            ("offset-minus-24", f"{DAY}T10:00:00-24:00"),
            ("offset-seconds", f"{DAY}T10:00:00+05:30:30"),
            ("offset-hours-only", f"{DAY}T10:00:00+05"),
            ("hour-24-00-01", f"{DAY}T24:00:01Z"),
            ("hour-24", f"{DAY}T24:00:00Z"),
            ("feb-30", f"{START.year + 1}-02-30T10:00:00Z"),
            ("week-date", "{}-W{:02d}-{}T10:00:00Z".format(*START.isocalendar())),
            ("basic-format", START.strftime("%Y%m%dT%H%M%SZ")),
            ("fullwidth-digit", "\uff12" + START.isoformat()[1:]),
            ("epoch-number", int(START.timestamp())),
            ("long-fraction", f"{DAY}T10:00:00.{'1' * 20}Z"),
        ]
    ),
    fields_case("datetime-end-year-10000", "booking", {"end_time": "10000-01-01T10:00:00Z"}),
    fields_case("datetime-10**30-minutes", "booking", {"duration_minutes": 10**30}),
    case(
        "datetime-year-10000-time-off",
        "POST",
        "/doctors/{doctor}/time-off",
        body({"start_time": START.isoformat(), "end_time": "10000-01-01T00:00:00Z"}),
        422,
        "end_time",
    ),
    *(
        fields_case(
            f"clock-{label}",
            "doctor",
            {"working_hours": [{"weekday": 0, "start": value, "end": "23:00"}]},
            422,
            "working_hours.0.start",
        )
        for label, value in [
            ("24-00", "24:00"),
            ("24-00-01", "24:00:01"),
            ("one-digit-hour", "9:00"),
            ("trailing-newline", "09:00\n"),
            ("fullwidth-digit", "0\uff19:00"),
        ]
    ),
    *(
        query_case("date-query", path, name, value, label)
        for label, path, name, value in [
            ("year-10000", "/appointments", "from", "10000-01-01"),
            ("feb-30", "/appointments", "to", f"{START.year + 1}-02-30"),
            ("hour-24", "/appointments", "from", f"{DAY}T24:00:01Z"),
            ("month-13", "/reports/overview", "from", "2025-13-01"),
            ("year-0", "/doctors/{doctor}/availability", "date", "0000-01-01"),
        ]
    ),
]

# --- empty bodies and content types ------------------------------------------------------

PATIENT_REQUIRED = ("first_name", "last_name", "date_of_birth")

EMPTY_CASES = [
    body_case("empty-typed", "patient", raw(b""), 400),
    body_case("empty-untyped", "patient", raw(b"", None), 422, *PATIENT_REQUIRED),
    body_case("empty-object", "patient", body({}), 422, *PATIENT_REQUIRED),
    body_case("empty-typed", "department", raw(b""), 400),
    body_case("empty-object", "doctor", body({}), 422, "first_name", "email", "department_id"),
    body_case("empty-typed", "booking", raw(b""), 400),
    body_case("empty-untyped", "login", raw(b"", None), 422, "email", "password"),
    body_case("empty-object", "record", body({}), 422, "diagnosis"),
    body_case("blank", "department", raw(b"   \r\n\t"), 400),
    *(
        body_case(f"type-{label}", endpoint, request, 415)
        for endpoint in ("patient",)
        for label, request in [
            ("text-plain", raw(json.dumps(NEW_PATIENT), "text/plain")),
            ("form", raw("first_name=Ada", "application/x-www-form-urlencoded")),
            ("multipart", {"data": {"first_name": "Ada"}, "content_type": "multipart/form-data"}),
            ("xml", raw("<patient/>", "application/xml")),
            ("none", raw(json.dumps(NEW_PATIENT), None)),
            ("json-lookalike", raw(json.dumps(NEW_PATIENT), "application/x-json")),
            ("nul-in-type", raw(json.dumps(NEW_PATIENT), "application/json\x00")),
        ]
    ),
    body_case("type-text-plain", "patient-update", raw('{"phone": "1"}', "text/plain"), 415),
    body_case("type-text-plain", "login", raw(json.dumps(LOGIN), "text/plain"), 415),
    body_case("type-none", "login", raw(json.dumps(LOGIN), None), 415),
    body_case("type-form", "patient-update", raw("phone=1", "multipart/form-data"), 415),
]

# --- duplicate keys ----------------------------------------------------------------------

PATIENT_REST = '"last_name": "Byron", "date_of_birth": "1990-12-10", '
LOGIN_REST = '"password": "correct horse battery", '

DUPLICATE_CASES = [
    body_case(f"duplicate-{label}", endpoint, raw(text), 400)
    for label, endpoint, text in [
        ("key", "patient", twice(PATIENT_REST, "first_name", "Ada", "Eve")),
        ("key-same-value", "patient", twice(PATIENT_REST, "first_name", "Ada", "Ada")),
        ("key", "patient-update", twice("", "allergies", "none", "penicillin")),
        ("escaped-key", "patient", '{"first_name": "Ada", "first\\u005fname": "Eve"}'),
        ("key", "department", twice("", "name", "ICU", "ER")),
        ("key", "login", twice(LOGIN_REST, "email", "a@example.org", "b@example.org")),
        ("id", "booking", twice('"start_time": "2030-01-01T10:00:00Z", ', "patient_id", 1, 2)),
        ("nested-key", "doctor", '{"working_hours": [{"weekday": 1, "weekday": 2}]}'),
        ("key", "record", twice("", "diagnosis", "Flu", "Cold")),
    ]
]

# --- headers -----------------------------------------------------------------------------

HEADER_CASES = [
    case(f"header-{label}", method, path, {"json": sent, "headers": headers}, status, *fields)
    for label, method, path, sent, headers, status, fields in [
        (
            "nul-idempotency-key",
            "POST",
            "/appointments",
            BOOKING,
            {"Idempotency-Key": "key\x00one"},
            422,
            ("Idempotency-Key",),
        ),
        (
            "long-idempotency-key",
            "POST",
            "/appointments",
            BOOKING,
            {"Idempotency-Key": "k" * LONG_IN_HEAD},
            422,
            ("Idempotency-Key",),
        ),
        (
            "nul-if-match",
            "PATCH",
            "/patients/{patient}",
            {"first_name": "Eve"},
            {"If-Match": '"abc\x00"'},
            412,
            (),
        ),
        (
            "nul-bearer",
            "PATCH",
            "/patients/{patient}",
            {"first_name": "Eve"},
            {"Authorization": "Bearer \x00"},
            401,
            (),
        ),
        (
            "long-bearer",
            "POST",
            "/patients",
            NEW_PATIENT,
            {"Authorization": "Bearer " + "a" * LONG_IN_HEAD},
            401,
            (),
        ),
    ]
]

REFUSALS = [
    *CONTROL_CASES,
    *LONG_CASES,
    *PATH_ID_CASES,
    *BODY_ID_CASES,
    *SHAPE_CASES,
    *DEEP_CASES,
    *ENCODING_CASES,
    *DATE_CASES,
    *EMPTY_CASES,
    *DUPLICATE_CASES,
    *HEADER_CASES,
    # a password is opaque: one with a NUL is a wrong password (401), never a crash
    fields_case("nul-in-password", "login", {"password": "correct horse\x00battery"}, 401),
]

#: The audit outcome a refusal with this status may record; other refusals record nothing.
REFUSAL_OUTCOMES = {401: "failed", 403: "denied", 404: "denied"}


@pytest.fixture
def world(factory) -> World:
    return World(factory)


@pytest.fixture
def clinician(make_account, factory, world):
    """A doctor login with the world's patient in scope (an appointment between them)."""
    account = make_account("doctor")
    doctor = factory.doctor(department_id=world["department"], user_id=account.id)
    # hours after START, where the tests book the world's patient
    start = START + timedelta(hours=4)
    factory.appointment(patient_id=world["patient"], doctor_id=doctor["id"], start=start)
    return account


def headers_of(request, caller: str) -> dict:
    if caller == "anonymous":
        return {}
    return dict(request.getfixturevalue("clinician" if caller == "doctor" else "admin").headers)


@pytest.mark.parametrize("hostile", REFUSALS)
def test_hostile_input_is_refused_and_changes_nothing(request, app, client, world, hostile):
    headers = headers_of(request, hostile.caller)
    path, kwargs = hostile.prepare(world)
    headers |= kwargs.pop("headers", {})
    before, audit_mark = table_state(app), last_audit_id(app)

    response = client.open(path, method=hostile.method, headers=headers, **kwargs)

    assert_problem(response, hostile.status, hostile.code, *hostile.fields)
    assert table_state(app) == before
    allowed = REFUSAL_OUTCOMES.get(hostile.status)
    assert all(outcome == allowed for outcome in audit_outcomes_since(app, audit_mark))


# --- hostile text that is allowed is kept verbatim ---------------------------------------

FRAGMENTS = {
    "sql-drop": "Robert'); DROP TABLE patients;--",
    "sql-or": "' OR 1=1 --",
    "sql-sleep": "'; SELECT pg_sleep(10); --",
    "sql-comment": "admin'/*",
    "script": "<script>alert(1)</script>",
    "html-entities": "&lt;b&gt; &amp; &#0;",
    "like-wildcards": "%_\\",
    "jndi": "${jndi:ldap://x}",
    "template": "{{7*7}} <%= 7*7 %> #{7*7}",
    "printf": "%s%s%n %x",
    "escapes-as-text": "\\u0000 \\x00 %00 \\n",
    "backslashes": "C:\\new\\table\\",
    "quotes": "\"double\" 'single' `back`",
    "csv-formula": '=HYPERLINK("http://x")',
    "path": "../../etc/passwd",
    "unicode": "Zoë Ñúñez 漢字 😀 ∑",
}


@pytest.mark.parametrize("text", FRAGMENTS.values(), ids=FRAGMENTS.keys())
def test_hostile_text_is_stored_and_returned_verbatim(app, client, admin, world, clinician, text):
    writes = [
        (admin, "/patients", {**NEW_PATIENT, "first_name": text, "allergies": text}),
        (admin, "/departments", {"name": text, "description": text, "location": text}),
        (admin, "/appointments", {**BOOKING, "reason": text, "notes": text}),
        (clinician, RECORDS, {"diagnosis": text, "treatment": text, "notes": text}),
    ]
    for account, path, fields in writes:
        sent = resolve(fields, world)
        created = client.post(path.format_map(world), json=sent, headers=account.headers)
        assert created.status_code == 201, created.get_json()
        read = client.get(created.headers["Location"], headers=account.headers)
        expected = {name: text for name, value in sent.items() if value == text}
        for shown in (created.get_json(), read.get_json()):
            assert {name: shown[name] for name in expected} == expected
    assert count_rows(app, "patients") == 2  # the world's and this one: nothing dropped


SEARCHABLE = [
    "100% Pure",
    "100X Pure",
    "snake_case",
    "snakeXcase",
    "back\\slash",
    "backXslash",
    "O'Brien",
    "OXBrien",
    "%_\\",
]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("%", {"100% Pure", "%_\\"}, id="percent"),
        pytest.param("_", {"snake_case", "%_\\"}, id="underscore"),
        pytest.param("\\", {"back\\slash", "%_\\"}, id="backslash"),
        pytest.param("%_\\", {"%_\\"}, id="all-three"),
        pytest.param("100%", {"100% Pure"}, id="digits-and-percent"),
        pytest.param("'", {"O'Brien"}, id="quote"),
        pytest.param("' OR 1=1 --", set(), id="sql-or"),
        pytest.param("x", {"100X Pure", "snakeXcase", "backXslash", "OXBrien"}, id="letter"),
    ],
)
def test_search_matches_hostile_characters_literally(client, admin, factory, q, expected):
    for name in SEARCHABLE:
        factory.patient(last_name=name)
    response = client.get("/patients", query_string={"q": q}, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    assert {patient["last_name"] for patient in response.get_json()} == expected


def test_department_and_doctor_searches_match_literally(client, admin, factory):
    for name in ("100% Care", "100X Care"):
        factory.department(name=name)
    for name in ("snake_case", "snakeXcase"):
        factory.doctor(last_name=name)
    departments = client.get("/departments", query_string={"q": "%"}, headers=admin.headers)
    doctors = client.get("/doctors", query_string={"q": "_"}, headers=admin.headers)
    assert [item["name"] for item in departments.get_json()] == ["100% Care"]
    assert [item["last_name"] for item in doctors.get_json()] == ["snake_case"]


# --- odd but harmless input gets an ordinary answer --------------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param(body({}), id="empty-object"),
        pytest.param(raw(b"", None), id="empty-untyped"),
        pytest.param(raw('{"allergies": null}', "application/merge-patch+json"), id="json-suffix"),
    ],
)
def test_an_empty_update_changes_nothing(app, client, admin, world, request_kwargs):
    path = f"/patients/{world['patient']}"
    before = table_state(app)
    response = client.patch(path, headers=admin.headers, **request_kwargs)
    assert response.status_code == 200, response.get_json()
    assert table_state(app) == before


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"page": "9" * 30}, id="page-30-digits"),
        pytest.param({"q": "\ufffd"}, id="replacement-character-sent-as-utf8"),
        pytest.param({"nickname": "x" * LONG_IN_HEAD}, id="long-unknown-parameter"),
        pytest.param({"x\x00y": "\x00"}, id="nul-in-unknown-parameter"),
    ],
)
def test_odd_but_valid_queries_are_answered(client, admin, params):
    response = client.get("/patients", query_string=params, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []


@pytest.mark.parametrize(
    "sent",
    ["abc\x00def", "a" * LONG_IN_HEAD, "a b", "\xff"],
    ids=["nul", "long", "space", "latin-1"],
)
def test_a_hostile_request_id_is_replaced(client, admin, sent):
    response = client.get("/departments", headers={**admin.headers, "X-Request-ID": sent})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] != sent
    assert len(response.headers["X-Request-ID"]) == 32
