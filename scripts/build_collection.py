"""Build docs/meditrack.postman_collection.json (Postman Collection v2.1, which Insomnia
imports too) from docs/openapi.json.

    .venv/bin/python scripts/build_collection.py           write the collection
    .venv/bin/python scripts/build_collection.py --check   fail if the committed one is stale

The collection is one working session on the demo hospital: the admin signs in, looks
around, creates a department, a doctor (with an account of their own, whose tokens the
collection keeps), a patient, an appointment, time off, a medical record and an
emergency access; changes each with the ETag it last read in If-Match; archives and
restores what it made; refreshes its tokens and signs out last, since signing out
revokes the token.

Requests come from the spec: path, method, query parameters (a parameter with an example
in the spec is sent, the others are listed but disabled), header parameters, and bodies
(the spec's example without its read-only fields). SESSION below adds only what the spec
cannot know: the order, which login a request uses, and the values that come from the
demo hospital or from earlier answers. Every operation of the spec must have exactly one
step in SESSION; the build fails otherwise, naming the operations to add or remove.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meditrack import demo  # noqa: E402

SPEC = ROOT / "docs" / "openapi.json"
OUT = ROOT / "docs" / "meditrack.postman_collection.json"
REBUILD = ".venv/bin/python scripts/build_collection.py"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
BASE_URL = "http://127.0.0.1:5000"
METHODS = ("get", "put", "post", "delete", "patch")
#: Every id in the collection is a UUID derived from this namespace and a name, so that
#: the same spec always builds the same file.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/meditrack/postman-collection")

#: A whole JSON value that is a number taken from a variable: written unquoted, since
#: `"{{doctorId}}"` would send a string where the API wants an integer.
INT_VARIABLE = re.compile(r'"<int:(\w+)>"')

#: Which token each kind of login sends; None sends none.
TOKENS = {
    "admin": "{{adminToken}}",
    "doctor": "{{doctorToken}}",
    "refresh": "{{adminRefreshToken}}",
}


def number(variable: str) -> str:
    """A body value that is the integer held in `variable`."""
    return f"<int:{variable}>"


@dataclass(frozen=True)
class Step:
    """One request of the session: what the spec does not say about one operation."""

    operation: str
    login: str | None = "admin"
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    #: Variables kept from the answer: name -> a JavaScript expression over `answer`
    #: (the parsed JSON body) and `etag` (the ETag header).
    keep: dict[str, str] = field(default_factory=dict)
    prerequest: tuple[str, ...] = ()


PASSWORD = "first-password-2026"
NEW_PASSWORD = "second-password-2026"
NEWCOMER = "noor.haddad.{{runId}}@example.org"


def created(thing: str) -> dict[str, str]:
    """Keep the id and the ETag of what a request created, as `<thing>Id`, `<thing>ETag`."""
    return {f"{thing}Id": "answer.id", f"{thing}ETag": "etag"}


def change(operation: str, thing: str, body: dict, *, login: str = "admin") -> Step:
    """A PATCH or PUT of what the session made (`{{<thing>Id}}`), sent with the ETag it
    last read in If-Match; the answer's ETag is kept for the next change."""
    return Step(
        operation,
        login=login,
        path={f"{thing}_id": f"{{{{{thing}Id}}}}"},
        headers={"If-Match": f"{{{{{thing}ETag}}}}"},
        body=body,
        keep={f"{thing}ETag": "etag"},
    )


def archive_then_restore(thing: str) -> tuple[Step, Step]:
    """Archive what the session made, with the ETag it last read, and bring it back."""
    path = {f"{thing}_id": f"{{{{{thing}Id}}}}"}
    return (
        Step(f"archive_{thing}", path=path, headers={"If-Match": f"{{{{{thing}ETag}}}}"}),
        Step(f"restore_{thing}", path=path),
    )


SESSION: tuple[tuple[str, tuple[Step, ...]], ...] = (
    (
        "Sign in",
        (
            Step(
                "login",
                login=None,
                body={"email": demo.ADMIN_EMAIL, "password": demo.PASSWORD},
                keep={
                    "adminToken": "answer.access_token",
                    "adminRefreshToken": "answer.refresh_token",
                    "adminUserId": "answer.user.id",
                },
                # One value per run keeps the names and emails this run creates apart
                # from an earlier run's on the same server.
                prerequest=(
                    'pm.collectionVariables.set("runId", String(Date.now()));',
                    "const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);",
                    'pm.collectionVariables.set("tomorrow", tomorrow.toISOString().slice(0, 10));',
                ),
            ),
        ),
    ),
    (
        "Look around the demo hospital",
        (
            Step("api_index", login=None),
            Step("check_health", login=None),
            Step("get_account"),
            Step("list_users", query={"role": "doctor", "sort": "name", "per_page": "10"}),
            Step(
                "list_departments",
                query={"sort": "name"},
                keep={"demoDepartmentId": "answer[0].id"},
            ),
            Step("get_department", path={"department_id": "{{demoDepartmentId}}"}),
            Step(
                "get_department_availability",
                path={"department_id": "{{demoDepartmentId}}"},
                query={"date": "{{tomorrow}}", "days": "2"},
            ),
            Step(
                "list_doctors",
                query={"department_id": "{{demoDepartmentId}}", "sort": "last_name"},
                keep={"demoDoctorId": "answer[0].id"},
            ),
            Step("get_doctor", path={"doctor_id": "{{demoDoctorId}}"}),
            Step(
                "get_doctor_calendar",
                path={"doctor_id": "{{demoDoctorId}}"},
                query={"from": "{{tomorrow}}"},
            ),
            Step("list_time_off", path={"doctor_id": "{{demoDoctorId}}"}),
            Step(
                "list_patients",
                query={"sort": "last_name", "per_page": "10"},
                keep={"demoPatientId": "answer[0].id", "demoPatientMrn": "answer[0].mrn"},
            ),
            Step("get_patient", path={"patient_id": "{{demoPatientId}}"}),
            Step("list_patient_access_log", path={"patient_id": "{{demoPatientId}}"}),
            Step("get_patient_calendar", path={"patient_id": "{{demoPatientId}}"}),
            Step("list_records", path={"patient_id": "{{demoPatientId}}"}),
            Step(
                "list_appointments",
                query={"from": "{{tomorrow}}", "status": "scheduled", "sort": "start_time"},
                keep={"demoAppointmentId": "answer[0].id"},
            ),
            Step("get_appointment", path={"appointment_id": "{{demoAppointmentId}}"}),
            Step("get_appointment_history", path={"appointment_id": "{{demoAppointmentId}}"}),
            Step("list_audit_events", query={"outcome": "success", "per_page": "10"}),
            Step("list_emergency_access"),
            Step("report_overview"),
            Step("report_departments", query={"format": "csv"}),
            Step("report_doctors"),
            Step("report_appointments_daily", query={"format": "png"}),
            Step("report_patient_demographics"),
            Step("download_overview_csv"),
            Step("download_departments_csv"),
            Step("download_departments_chart"),
            Step("download_doctors_csv"),
            Step("download_doctors_chart"),
            Step("download_appointments_daily_csv"),
            Step("download_appointments_daily_chart"),
            Step("download_patient_demographics_csv"),
            Step("download_patient_demographics_chart"),
        ),
    ),
    (
        "Create",
        (
            Step(
                "create_department",
                body={
                    "name": "Sleep Medicine {{runId}}",
                    "description": "Sleep studies and the treatment of sleep disorders.",
                    "location": "Building E, 1st floor",
                    "phone": "+1-212-555-0160",
                },
                keep=created("department"),
            ),
            Step(
                "register_account",
                body={
                    "name": "Noor Haddad",
                    "email": NEWCOMER,
                    "password": PASSWORD,
                    "role": "doctor",
                },
                keep={
                    "userId": "answer.user.id",
                    "doctorToken": "answer.access_token",
                    "doctorRefreshToken": "answer.refresh_token",
                },
            ),
            Step(
                "create_doctor",
                body={
                    "first_name": "Noor",
                    "last_name": "Haddad",
                    "email": NEWCOMER,
                    "specialization": "Sleep Medicine",
                    "department_id": number("demoDepartmentId"),
                    "user_id": number("userId"),
                    "slot_minutes": 30,
                    "working_hours": [
                        {"weekday": day, "start": "08:00", "end": "18:00"} for day in range(7)
                    ],
                },
                keep=created("doctor"),
            ),
            # After create_doctor: the account's answer names its doctor, so the ETag changes.
            Step("get_user", path={"user_id": "{{userId}}"}, keep={"userETag": "etag"}),
            Step(
                "create_patient",
                body={
                    "first_name": "Amara",
                    "last_name": "Okafor",
                    "date_of_birth": "1988-04-12",
                    "gender": "female",
                    "email": "amara.okafor.{{runId}}@example.org",
                    "phone": "+1-212-555-0187",
                },
                keep={"patientId": "answer.id", "patientETag": "etag", "patientMrn": "answer.mrn"},
            ),
            Step(
                "get_doctor_availability",
                path={"doctor_id": "{{doctorId}}"},
                query={"date": "{{tomorrow}}", "days": "7"},
                keep={
                    "slotStart": "answer[0].start_time",
                    "laterSlotStart": "answer[1].start_time",
                    "lastSlotStart": "answer[answer.length - 1].start_time",
                    "lastSlotEnd": "answer[answer.length - 1].end_time",
                },
            ),
            Step(
                "book_appointment",
                headers={"Idempotency-Key": "booking-{{runId}}"},
                body={
                    "doctor_id": number("doctorId"),
                    "patient_id": number("patientId"),
                    "start_time": "{{slotStart}}",
                    "reason": "Snoring and daytime sleepiness",
                },
                keep=created("appointment"),
            ),
            Step(
                "add_time_off",
                path={"doctor_id": "{{doctorId}}"},
                body={
                    "start_time": "{{lastSlotStart}}",
                    "end_time": "{{lastSlotEnd}}",
                    "reason": "Conference",
                },
                keep={"timeOffId": "answer.id"},
            ),
            Step(
                "create_record",
                login="doctor",
                path={"patient_id": "{{patientId}}"},
                body={
                    "diagnosis": "Suspected obstructive sleep apnea",
                    "treatment": "Overnight sleep study",
                    "notes": "Referred by her family doctor.",
                },
                keep={"recordId": "answer.id"},
            ),
            Step(
                "get_record",
                login="doctor",
                path={"record_id": "{{recordId}}"},
                keep={"recordETag": "etag"},
            ),
            Step(
                "request_emergency_access",
                login="doctor",
                body={
                    "mrn": "{{demoPatientMrn}}",
                    "reason": "Brought in unconscious; the history is needed to treat her.",
                },
                keep={"accessId": "answer.id"},
            ),
            Step("get_emergency_access", login="doctor", path={"access_id": "{{accessId}}"}),
        ),
    ),
    (
        "Change",
        (
            change("update_user", "user", {"name": "Noor Haddad-Okafor"}),
            change("put_user", "user", {"name": "Noor Haddad"}),
            change("update_department", "department", {"location": "Building E, 2nd floor"}),
            change("put_department", "department", {"phone": "+1-212-555-0161"}),
            change("update_doctor", "doctor", {"phone": "+1-212-555-0162"}),
            change("put_doctor", "doctor", {"license_number": "NY-SM-{{runId}}"}),
            change("update_patient", "patient", {"allergies": "Penicillin"}),
            change("put_patient", "patient", {"address": "12 Orchard Street, New York, NY 10002"}),
            change("update_appointment", "appointment", {"start_time": "{{laterSlotStart}}"}),
            change("put_appointment", "appointment", {"notes": "Bring the sleep diary."}),
            change(
                "update_record",
                "record",
                {"treatment": "Overnight sleep study, then CPAP titration"},
                login="doctor",
            ),
            change(
                "put_record",
                "record",
                {"notes": "Referred by her family doctor; study booked."},
                login="doctor",
            ),
            Step("end_emergency_access", login="doctor", path={"access_id": "{{accessId}}"}),
            Step(
                "change_password",
                login="doctor",
                body={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            ),
        ),
    ),
    (
        "Archive and restore what this session made",
        (
            *archive_then_restore("record"),
            *archive_then_restore("appointment"),
            Step(
                "remove_time_off",
                path={"doctor_id": "{{doctorId}}", "time_off_id": "{{timeOffId}}"},
            ),
            *archive_then_restore("patient"),
            *archive_then_restore("doctor"),
            Step(
                "delete_department",
                path={"department_id": "{{departmentId}}"},
                headers={"If-Match": "{{departmentETag}}"},
            ),
        ),
    ),
    (
        "Sign out",
        (
            Step(
                "refresh_tokens",
                login="refresh",
                keep={
                    "adminToken": "answer.access_token",
                    "adminRefreshToken": "answer.refresh_token",
                },
            ),
            Step("logout"),
        ),
    ),
)


class SpecError(Exception):
    """The spec and SESSION disagree; the message says how."""


def operations(spec: dict) -> dict[str, tuple[str, str, dict]]:
    """operationId -> (method, path, operation), in the spec's order."""
    found: dict[str, tuple[str, str, dict]] = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            name = operation.get("operationId")
            if not name:
                raise SpecError(f"{method.upper()} {path} has no operationId.")
            found[name] = (method, path, operation)
    return found


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_coverage(spec_operations: dict, session: tuple) -> None:
    steps = [step.operation for _, folder in session for step in folder]
    twice = sorted({name for name in steps if steps.count(name) > 1})
    missing = [name for name in spec_operations if name not in steps]
    unknown = [name for name in steps if name not in spec_operations]
    problems = []
    if missing:
        problems.append("operations of the spec without a step: " + ", ".join(missing))
    if unknown:
        problems.append("steps for operations the spec does not have: " + ", ".join(unknown))
    if twice:
        problems.append("operations with more than one step: " + ", ".join(twice))
    if problems:
        raise SpecError(
            "Add or remove steps in SESSION (scripts/build_collection.py):\n  "
            + "\n  ".join(problems)
        )


def example_of(spec: dict, media: dict) -> dict:
    """The example body of a request: the media type's, else the schema's."""
    if "example" in media:
        return dict(media["example"])
    if media.get("examples"):
        first = next(iter(media["examples"].values()))
        return dict(resolve(spec, first).get("value", {}))
    schema = resolve(spec, media.get("schema", {}))
    return dict(schema.get("example", {}))


def body_of(spec: dict, name: str, operation: dict, step: Step) -> dict | None:
    """The spec's example, what SESSION sets over it, and the examples of required fields
    still missing; a required field without any value fails the build."""
    request_body = operation.get("requestBody")
    if request_body is None:
        if step.body is not None:
            raise SpecError(f"{name}: SESSION gives a body but the operation takes none.")
        return None
    media = resolve(spec, request_body)["content"]["application/json"]
    schema = resolve(spec, media.get("schema", {}))
    properties = schema.get("properties", {})
    # Only the fields the request schema takes, never a read-only one, and ids only from
    # SESSION: an example's id names no row of the demo hospital.
    body = {
        key: value
        for key, value in example_of(spec, media).items()
        if (key in properties or not properties)
        and not resolve(spec, properties.get(key, {})).get("readOnly")
        and not key.endswith("_id")
    }
    body.update(step.body or {})
    for key in schema.get("required", []):
        if key.endswith("_id") or key in body:
            continue
        if "example" in resolve(spec, properties.get(key, {})):
            body[key] = resolve(spec, properties[key])["example"]
    absent = [key for key in schema.get("required", []) if key not in body]
    if absent:
        raise SpecError(f"{name}: no value for the required body fields {', '.join(absent)}.")
    return body


def parameter_value(schema: dict, parameter: dict) -> str | None:
    """The spec's example of a parameter, as a string; None when it has none."""
    for source in (parameter, schema):
        if "example" in source:
            value = source["example"]
            return json.dumps(value) if isinstance(value, bool) else str(value)
    if parameter.get("examples"):
        return str(next(iter(parameter["examples"].values())).get("value"))
    return None


def parameters_of(spec: dict, operation: dict, where: str) -> list[dict]:
    found = [resolve(spec, parameter) for parameter in operation.get("parameters", [])]
    return [parameter for parameter in found if parameter["in"] == where]


def query_of(spec: dict, name: str, operation: dict, step: Step) -> list[dict]:
    """Every query parameter: sent when SESSION or the spec gives a value, else disabled.
    Ids are never taken from the spec's examples: they must name demo rows."""
    entries = []
    declared = {p["name"]: p for p in parameters_of(spec, operation, "query")}
    for key in [key for key in step.query if key not in declared]:
        raise SpecError(f"{name}: the spec declares no query parameter {key!r}.")
    for key, parameter in declared.items():
        schema = resolve(spec, parameter.get("schema", {}))
        value = step.query.get(key)
        if value is None and not key.endswith("_id"):
            value = parameter_value(schema, parameter)
        if value is None and parameter.get("required"):
            raise SpecError(f"{name}: no value for the required query parameter {key!r}.")
        entry = {"key": key, "value": value if value is not None else ""}
        if parameter.get("description"):
            entry["description"] = parameter["description"]
        if value is None:
            entry["disabled"] = True
        entries.append(entry)
    return entries


def headers_of(spec: dict, name: str, operation: dict, step: Step, body) -> list[dict]:
    entries = []
    declared = {p["name"]: p for p in parameters_of(spec, operation, "header")}
    for key in step.headers:
        if key not in declared:
            raise SpecError(f"{name}: the spec declares no header parameter {key!r}.")
    for key in sorted(set(declared) | set(step.headers)):
        parameter = declared.get(key, {})
        entry = {"key": key, "value": step.headers.get(key, "")}
        if parameter.get("description"):
            entry["description"] = parameter["description"]
        if key not in step.headers:
            entry["disabled"] = True
        entries.append(entry)
    if body is not None:
        entries.append({"key": "Content-Type", "value": "application/json"})
    return entries


def url_of(name: str, path: str, operation: dict, step: Step, query: list[dict]) -> dict:
    segments = [segment for segment in path.split("/") if segment]
    names = re.findall(r"{(\w+)}", path)
    absent = [key for key in names if key not in step.path]
    if absent or set(step.path) - set(names):
        raise SpecError(f"{name}: SESSION's path values {sorted(step.path)} for {path}.")
    postman_path = [re.sub(r"{(\w+)}", r":\1", segment) for segment in segments]
    sent = [f"{entry['key']}={entry['value']}" for entry in query if not entry.get("disabled")]
    raw = "{{baseUrl}}/" + "/".join(postman_path) + ("?" + "&".join(sent) if sent else "")
    url: dict = {"raw": raw, "host": ["{{baseUrl}}"], "path": postman_path}
    if query:
        url["query"] = query
    if names:
        url["variable"] = [{"key": key, "value": step.path[key]} for key in names]
    return url


def expected_status(name: str, operation: dict) -> int:
    codes = sorted(int(code) for code in operation["responses"] if code.startswith("2"))
    if not codes:
        raise SpecError(f"{name}: the spec declares no success status.")
    return codes[0]


def test_script(method: str, path: str, status: int, media: list[str], step: Step) -> list[str]:
    lines = [
        f'pm.test("{method.upper()} {path} answers {status}", function () {{',
        f"    pm.response.to.have.status({status});",
        "});",
    ]
    if media:
        lines += [
            f'pm.test("as {" or ".join(media)}", function () {{',
            '    const type = (pm.response.headers.get("Content-Type") || "").split(";")[0];',
            f"    pm.expect(type.trim()).to.be.oneOf({json.dumps(media)});",
            "});",
        ]
    if not step.keep:
        return lines
    lines.append(f"if (pm.response.code === {status}) {{")
    expressions = " ".join(step.keep.values())
    if "answer" in expressions:
        lines.append("    const answer = pm.response.json();")
    if "etag" in expressions:
        lines.append('    const etag = pm.response.headers.get("ETag");')
    for variable, expression in step.keep.items():
        lines.append(f'    pm.collectionVariables.set("{variable}", {expression});')
    lines.append("}")
    kept = ", ".join(step.keep)
    lines += [
        f'pm.test("keeps {kept}", function () {{',
        *(
            f'    pm.expect(pm.collectionVariables.get("{variable}"), "{variable}")'
            ".to.not.be.oneOf([undefined, null, ''])"
            ";"
            for variable in step.keep
        ),
        "});",
    ]
    return lines


def auth_of(step: Step, operation: dict) -> dict | None:
    """None inherits the collection's (the admin's token)."""
    if step.login is None or operation.get("security") == []:
        return {"type": "noauth"}
    if step.login == "admin":
        return None
    return bearer(TOKENS[step.login])


def bearer(token: str) -> dict:
    return {"type": "bearer", "bearer": [{"key": "token", "value": token, "type": "string"}]}


def item_id(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def request_name(summary: str, method: str, twins: int) -> str:
    """The summary; a PUT that shares its summary with a PATCH says so."""
    return summary if twins == 1 else f"{summary} ({method.upper()})"


def item_of(spec: dict, name: str, spec_op: tuple, step: Step, summaries: dict) -> dict:
    method, path, operation = spec_op
    summary = operation.get("summary") or name
    body = body_of(spec, name, operation, step)
    query = query_of(spec, name, operation, step)
    request: dict = {
        "method": method.upper(),
        "header": headers_of(spec, name, operation, step, body),
        "url": url_of(name, path, operation, step, query),
        "description": "\n\n".join(
            [f"`{method.upper()} {path}` (operationId `{name}`)"]
            + ([operation["description"]] if operation.get("description") else [])
        ),
    }
    auth = auth_of(step, operation)
    if auth is not None:
        request["auth"] = auth
    if body is not None:
        raw = INT_VARIABLE.sub(r"{{\1}}", json.dumps(body, indent=2, ensure_ascii=False))
        request["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
    status = expected_status(name, operation)
    media = sorted(resolve(spec, operation["responses"][str(status)]).get("content", {}))
    events = [script("test", name, test_script(method, path, status, media, step))]
    if step.prerequest:
        events.insert(0, script("prerequest", name, list(step.prerequest)))
    return {
        "id": item_id(name),
        "name": request_name(summary, method, summaries[summary]),
        "event": events,
        "request": request,
        "response": [],
    }


def script(listen: str, name: str, lines: list[str]) -> dict:
    return {
        "listen": listen,
        "script": {"id": item_id(f"{name}:{listen}"), "type": "text/javascript", "exec": lines},
    }


def variables(session: tuple) -> list[dict]:
    names = ["runId", "tomorrow"]
    for _, folder in session:
        for step in folder:
            names += [name for name in step.keep if name not in names]
    return [{"key": "baseUrl", "value": BASE_URL, "type": "string"}] + [
        {"key": name, "value": "", "type": "string"} for name in names
    ]


def build(spec: dict, session: tuple = SESSION) -> dict:
    spec_operations = operations(spec)
    check_coverage(spec_operations, session)
    summaries: dict[str, int] = {}
    for _, _, operation in spec_operations.values():
        summary = operation.get("summary", "")
        summaries[summary] = summaries.get(summary, 0) + 1
    folders = [
        {
            "id": item_id(f"folder:{title}"),
            "name": title,
            "item": [
                item_of(spec, step.operation, spec_operations[step.operation], step, summaries)
                for step in folder
            ],
        }
        for title, folder in session
    ]
    info = spec["info"]
    return {
        "info": {
            "_postman_id": item_id(f"collection:{info['title']}"),
            "name": info["title"],
            "description": (
                f"Every operation of {info['title']} {info['version']}, as one "
                "session on the demo hospital (`make run`): sign in, read, create, change, "
                "archive and restore, sign out. Built from docs/openapi.json by "
                "scripts/build_collection.py; set `baseUrl` to your server."
            ),
            "schema": SCHEMA_URL,
        },
        "auth": bearer(TOKENS["admin"]),
        "item": folders,
        "variable": variables(session),
    }


def render(spec: dict) -> str:
    return json.dumps(build(spec), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args()
    try:
        text = render(json.loads(SPEC.read_text()))
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run {REBUILD}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
