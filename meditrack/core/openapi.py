"""What the OpenAPI document says beyond the schemas: the headers each answer carries,
the headers a request may send, every status an operation can answer with, and an
example of each error.

The rules read an operation's shape (does it take a body, a path id, a page; does it
answer one JSON object, a list, a new resource), so a new route is described like the
others without repeating any of it. What the shape cannot tell (which operations answer
409 or 429, which honour If-Match or Idempotency-Key) each view declares with the
decorators at the end of this module. tests/test_openapi.py and the response check in
tests/conftest.py hold the rules to what the server really sends.
"""

from __future__ import annotations

import http
from collections.abc import Iterable

from apispec import BasePlugin

from meditrack.core.errors import HTTP_CODES, PROBLEM_JSON, problem_body

WRITES = {"post", "put", "patch"}

HEADERS = {
    "RequestId": {
        "description": "The request's id: the `X-Request-ID` the client sent when it is 1 to "
        "128 letters, digits or `._-`, else a new one. Logged with the request.",
        "schema": {"type": "string"},
    },
    "TotalCount": {
        "description": "How many items the whole list holds, across all its pages.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Link": {
        "description": 'RFC 8288 links to the other pages: `rel="first"`, `"prev"`, `"next"` '
        'and `"last"`, each a relative URL (or under MEDITRACK_PUBLIC_URL).',
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "A strong validator of this JSON representation. Send it back in "
        "`If-Match` to change only what you read, or in `If-None-Match` to be answered 304 "
        "while it is unchanged.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where the new resource is read.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "IdempotentReplayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key`; absent on a first answer.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "ContentDisposition": {
        "description": "`attachment` with a file name, for CSV and PNG downloads.",
        "schema": {"type": "string"},
    },
    "ChartBucket": {
        "description": "PNG only: what one bar of the chart counts (`day`, `week` or `month`).",
        "schema": {"type": "string", "enum": ["day", "week", "month"]},
    },
}

PARAMETERS = {
    "IfMatch": {
        "in": "header",
        "name": "If-Match",
        "required": False,
        "description": "The `ETag` you read: the change is refused with 412 if the resource "
        "has changed since. `*` matches any version.",
        "schema": {"type": "string"},
    },
    "IfNoneMatch": {
        "in": "header",
        "name": "If-None-Match",
        "required": False,
        "description": "The `ETag` you hold: answered 304, with no body, while it is current.",
        "schema": {"type": "string"},
    },
    "IdempotencyKey": {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "description": "Retry safely: the same key and body within 24 hours replays the first "
        "answer (with `Idempotent-Replayed: true`); the same key with another body answers "
        "422 `idempotency_mismatch`. 1 to 255 visible ASCII characters.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
}

#: The detail of each error's example; the code word is the status's own.
EXAMPLE_DETAILS = {
    400: "The body is not valid JSON.",
    401: "Sign in and send the access token as a bearer token.",
    403: "Only an admin can do this.",
    404: "Patient 7 does not exist.",
    409: "The resource is in a state that does not allow this.",
    412: "The resource changed since you read it; fetch it again.",
    413: "The body is larger than 1 MiB.",
    415: "Send the body as application/json.",
    422: "The request has invalid fields.",
    414: "The URL is longer than 8 KiB.",
    429: "Too many failed sign-in attempts; try again later.",
    431: "The request headers are larger than 16 KiB.",
    503: "The database is unavailable; try again shortly.",
}
EXAMPLE_EXTRAS = {422: {"errors": {"date_of_birth": ["Not a valid date."]}}}
#: Statuses that come with a Retry-After.
RETRIED = {429, 503}


def error_example(status: int, code: str | None = None, detail: str | None = None) -> dict:
    code = code or HTTP_CODES[status]
    extra = EXAMPLE_EXTRAS.get(status, {}) if code == HTTP_CODES.get(status) else {}
    return problem_body(status, code, detail or EXAMPLE_DETAILS.get(status), **extra)


def error_headers(status: int) -> dict:
    headers = {"X-Request-ID": "RequestId"}
    if status in RETRIED:
        headers["Retry-After"] = "RetryAfter"
    return headers


def register_components(spec) -> None:
    for name, header in HEADERS.items():
        spec.components.header(name, header, lazy=True)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter, lazy=True)


class OperationConventions(BasePlugin):
    """Complete each operation from its shape."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            _complete(path or "", method, operation)


def _complete(path: str, method: str, operation: dict) -> None:
    # flask-smorest keys responses by int; apispec turns them into strings afterwards.
    responses = operation["responses"] = {
        str(code): response for code, response in operation.get("responses", {}).items()
    }
    parameters = operation.setdefault("parameters", [])
    names = {_name(parameter) for parameter in parameters}
    add = responses.setdefault
    if operation.get("security") != []:
        add("401", "UNAUTHORIZED")
        add("403", "FORBIDDEN")
    if "{" in path:
        add("404", "NOT_FOUND")
    if method in WRITES and "requestBody" in operation:
        add("400", "BAD_REQUEST")
        add("415", "UNSUPPORTED_MEDIA_TYPE")
    if method in WRITES:
        add("413", "REQUEST_ENTITY_TOO_LARGE")
    if "requestBody" in operation or any(p.get("in") == "query" for p in _dicts(parameters)):
        add("422", "UNPROCESSABLE_ENTITY")
    if "IfMatch" in names:
        add("412", "PRECONDITION_FAILED")
    # Any request, before the token or the body is read (core/limits.py).
    add("414", "REQUEST_URI_TOO_LONG")
    add("431", "REQUEST_HEADER_FIELDS_TOO_LARGE")
    add("503", "SERVICE_UNAVAILABLE")

    for status, success in list(responses.items()):
        if not status.startswith("2") or not isinstance(success, dict):
            continue
        headers = success.setdefault("headers", {})
        headers["X-Request-ID"] = "RequestId"
        if _answers_an_object(success) and method in WRITES | {"get"}:
            headers["ETag"] = "ETag"
            if method == "get":
                _add_parameter(parameters, "IfNoneMatch")
                add("304", "NOT_MODIFIED")
        if _answers_a_list(success) and "page" in names:
            headers["X-Total-Count"] = "TotalCount"
            headers["Link"] = "Link"
        if status == "201":
            headers["Location"] = "Location"
    if "IdempotencyKey" in names:
        _replayable(responses)


def _replayable(responses: dict) -> None:
    """An operation that takes an Idempotency-Key replays the answer it stored, a refusal
    (4xx) as well as a success, with Idempotent-Replayed: each declares the header, so the
    shared error responses are written out in full here."""
    for status, response in list(responses.items()):
        if status != "201" and not status.startswith("4"):
            continue
        if isinstance(response, str):
            code = int(status)
            response = responses[status] = {
                "description": http.HTTPStatus(code).phrase,
                "content": {
                    PROBLEM_JSON: {
                        "schema": {"$ref": REF + "Problem"},
                        "example": error_example(code),
                    }
                },
                "headers": error_headers(code),
            }
        response.setdefault("headers", {})["Idempotent-Replayed"] = "IdempotentReplayed"


def _json_schema(response: dict) -> dict:
    return response.get("content", {}).get("application/json", {}).get("schema") or {}


def _answers_an_object(response: dict) -> bool:
    schema = _json_schema(response)
    return "$ref" in schema or schema.get("type") == "object"


def _answers_a_list(response: dict) -> bool:
    return _json_schema(response).get("type") == "array"


def _dicts(parameters: Iterable) -> list[dict]:
    return [parameter for parameter in parameters if isinstance(parameter, dict)]


def _name(parameter) -> str:
    """A parameter by its component name (a string) or its own name."""
    return parameter if isinstance(parameter, str) else parameter.get("name", "")


def _add_parameter(parameters: list, name: str) -> None:
    if name not in parameters:
        parameters.append(name)


# The finished document ------------------------------------------------------------------
#
# One marshmallow schema serves a resource's requests and its answers, with read-only
# fields marked dump_only. The document splits it in two where they differ: the request
# schema leaves the read-only fields out (a client generated from it never sends them
# back), the response schema lists every field as required (marshmallow writes each one,
# null or not) and as nullable the fields whose metadata says `x-nullable-response` (a
# value the server may answer null but a request may not send, such as an appointment's
# cancellation_reason). Where the two agree the schema keeps its one name; otherwise the
# request's is `<Name>Request`.

REF = "#/components/schemas/"
REQUEST_SUFFIX = "Request"
#: Field metadata for the response schema: the server may answer null here (a request may
#: not send it), or may leave the field out.
NULLABLE_IN_RESPONSES = {"x-nullable-response": True}
OPTIONAL_IN_RESPONSES = {"x-optional-response": True}
MARKERS = {*NULLABLE_IN_RESPONSES, *OPTIONAL_IN_RESPONSES}


def finish(document: dict) -> dict:
    schemas = document.get("components", {}).get("schemas", {})
    in_requests, in_responses = set(), set()
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _collect(media.get("schema", {}), schemas, in_requests, _request_variant)
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    _collect(media.get("schema", {}), schemas, in_responses, _response_variant)
    for response in document.get("components", {}).get("responses", {}).values():
        for media in response.get("content", {}).values():
            _collect(media.get("schema", {}), schemas, in_responses, _response_variant)

    requests = {name: _request_variant(schemas[name]) for name in in_requests}
    responses = {name: _response_variant(schemas[name]) for name in in_responses}
    renamed = {
        name: name + REQUEST_SUFFIX
        for name in in_requests & in_responses
        if requests[name] != responses[name]
    }
    finished = dict(responses)
    for name, schema in requests.items():
        finished[renamed.get(name, name)] = _renamed_refs(schema, renamed)
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                media["schema"] = _renamed_refs(media.get("schema", {}), renamed)
    document["components"]["schemas"] = dict(sorted(finished.items()))
    return document


def _collect(schema, schemas: dict, seen: set, variant) -> None:
    """The names of the components `schema` refers to, directly or through the `variant`
    of others."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith(REF):
            name = ref.removeprefix(REF)
            if name not in seen:
                seen.add(name)
                _collect(variant(schemas[name]), schemas, seen, variant)
        for value in schema.values():
            _collect(value, schemas, seen, variant)
    elif isinstance(schema, list):
        for value in schema:
            _collect(value, schemas, seen, variant)


def _request_variant(schema: dict) -> dict:
    schema = _without_markers(schema)
    properties = schema.get("properties")
    if properties is None:
        return schema
    kept = {name: prop for name, prop in properties.items() if not prop.get("readOnly")}
    schema = {**schema, "properties": kept}
    required = [name for name in schema.get("required", []) if name in kept]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema


def _response_variant(schema: dict) -> dict:
    properties = schema.get("properties")
    if properties is None:
        return _without_markers(schema)
    answered = {}
    for name, prop in properties.items():
        if prop.get("x-nullable-response"):
            prop = {**prop, "nullable": True}
        answered[name] = _without_markers(prop)
    required = [name for name, prop in properties.items() if not prop.get("x-optional-response")]
    return {**schema, "properties": answered, "required": required}


def _without_markers(value):
    if isinstance(value, dict):
        return {k: _without_markers(v) for k, v in value.items() if k not in MARKERS}
    if isinstance(value, list):
        return [_without_markers(v) for v in value]
    return value


def _renamed_refs(value, renamed: dict[str, str]):
    if isinstance(value, dict):
        ref = value.get("$ref", "")
        if ref.startswith(REF) and ref.removeprefix(REF) in renamed:
            return {**value, "$ref": REF + renamed[ref.removeprefix(REF)]}
        return {k: _renamed_refs(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed_refs(v, renamed) for v in value]
    return value
