"""Every answer the tests see is one the OpenAPI document declares.

Each request a test's `app` serves is recorded; after the test, each answer's status must
be declared on its operation, each of the headers below that it carries must be
declared on that status, and a JSON body must match the schema declared for it (every
field the schema requires present, null only where it says nullable). So a route that
answers a status, a header or a body its operation does not declare fails the tests that
reach it, whichever they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

import jsonschema_rs
from flask import Flask, request, request_finished

#: The headers a client reads as part of the API, declared wherever they are sent.
CHECKED_HEADERS = (
    "ETag",
    "Location",
    "Link",
    "X-Total-Count",
    "Retry-After",
    "Idempotent-Replayed",
    "X-Chart-Bucket",
    "Content-Disposition",
    "X-Request-ID",
)
#: Answered for any path, beside its operations, and documented in API.md's errors:
#: no such method for the path (405), a request the server refuses before the app reads
#: it (408, 417), an unexpected failure (500).
ANY_OPERATION = {405, 408, 417, 500}
PATH_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class Answer:
    method: str
    path: str  # as the spec writes it: /patients/{patient_id}
    status: int
    headers: frozenset[str]
    media_type: str
    body: str | None  # JSON text, when the answer is JSON


def json_schema(schema: dict, schemas: dict) -> dict:
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, `nullable` as a
    null type."""
    if "$ref" in schema:
        schema = {
            **schemas[schema["$ref"].rsplit("/", 1)[1]],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    converted = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            value = {name: json_schema(sub, schemas) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            value = json_schema(value, schemas)
        elif key in ("allOf", "anyOf", "oneOf"):
            value = [json_schema(sub, schemas) for sub in value]
        elif key in ("nullable", "readOnly", "writeOnly", "example", "format", "discriminator"):
            continue
        converted[key] = value
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class Declared:
    def __init__(self, spec: dict):
        components = spec["components"]["responses"]
        self.schemas = spec["components"].get("schemas", {})
        self.operations: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
        self.bodies: dict[tuple[str, str, str, str], dict] = {}
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if method == "parameters":
                    continue
                statuses = {}
                for code, response in operation["responses"].items():
                    if "$ref" in response:
                        response = components[response["$ref"].rsplit("/", 1)[1]]
                    statuses[code] = frozenset(response.get("headers", {}))
                    for media_type, media in response.get("content", {}).items():
                        if "schema" in media:
                            key = (method.upper(), path, code, media_type)
                            self.bodies[key] = media["schema"]
                self.operations[(method.upper(), path)] = statuses

    @cache  # noqa: B019 (one instance per test session)
    def validator(self, key: tuple[str, str, str, str]):
        schema = self.bodies.get(key)
        if schema is None:
            return None
        return jsonschema_rs.Draft7Validator(json_schema(schema, self.schemas))

    def problems(self, answer: Answer) -> list[str]:
        statuses = self.operations.get((answer.method, answer.path))
        name = f"{answer.method} {answer.path} -> {answer.status}"
        if statuses is None:
            return [f"{answer.method} {answer.path} is no operation of the spec"]
        declared = statuses.get(str(answer.status))
        if declared is None:
            if answer.status in ANY_OPERATION:
                return []
            return [f"{name}: the status is not declared"]
        found = [
            f"{name}: {header} is sent but not declared" for header in answer.headers - declared
        ]
        if answer.body is not None:
            found.extend(self._body_problems(name, answer))
        return found

    def _body_problems(self, name: str, answer: Answer) -> list[str]:
        validator = self.validator(
            (answer.method, answer.path, str(answer.status), answer.media_type)
        )
        if validator is None:
            return [f"{name}: no schema is declared for {answer.media_type}"]
        body = json.loads(answer.body)
        return [
            f"{name}: {error.message} at /{'/'.join(map(str, error.instance_path))}"
            for error in validator.iter_errors(body)
        ]


class Recorder:
    """The answers an app gave since the last `take()`."""

    def __init__(self, app: Flask, spec_paths: set[str]):
        self.answers: list[Answer] = []
        self.spec_paths = spec_paths
        request_finished.connect(self._record, app, weak=False)

    def _record(self, sender, response, **extra) -> None:
        rule = request.url_rule
        if rule is None or request.method in ("HEAD", "OPTIONS"):
            return
        path = PATH_PARAMETER.sub(r"{\1}", rule.rule)
        if path not in self.spec_paths:
            return  # /docs, /openapi.json: served beside the API, not part of it
        sent = frozenset(h for h in CHECKED_HEADERS if h in response.headers)
        media_type = response.mimetype or ""
        is_json = media_type == "application/json" or media_type.endswith("+json")
        has_body = is_json and not response.is_streamed and response.status_code not in (204, 304)
        body = response.get_data(as_text=True) if has_body else None
        self.answers.append(
            Answer(request.method, path, response.status_code, sent, media_type, body or None)
        )

    def take(self) -> list[Answer]:
        answers, self.answers = self.answers, []
        return answers
