"""flask-smorest's Api, taught to speak problem+json and bearer tokens."""

from __future__ import annotations

import http

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest.utils import prepare_response

from meditrack.core.errors import PROBLEM_JSON, http_problem


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response carries them."""

    type = ma.fields.String(metadata={"example": "urn:meditrack:problem:not_found"})
    title = ma.fields.String(metadata={"example": "Not found"})
    status = ma.fields.Integer(metadata={"example": 404})
    detail = ma.fields.String(metadata={"example": "Patient 7 does not exist."})
    code = ma.fields.String(metadata={"description": "Stable snake_case error word."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "validation_error only: messages per (flattened) field."},
    )
    errors_truncated = ma.fields.Boolean(
        metadata={"description": "Present (true) when `errors` names only the first 50 fields."}
    )
    conflicts = ma.fields.List(ma.fields.Dict(), metadata={"description": "Clashing times."})


def schema_name(schema) -> str:
    """Component names: PatientSchema -> Patient, its partial (update) form -> PatientUpdate."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Update"
    return name


def rate_limited(description: str) -> dict:
    """The arguments of `blp.alt_response(429, ...)`: a problem with its Retry-After."""
    return {
        "schema": ProblemSchema,
        "content_type": PROBLEM_JSON,
        "description": description,
        "headers": {
            "Retry-After": {
                "description": "Seconds until an attempt may be accepted again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }


class ErrorResponses(BasePlugin):
    """Document the errors every operation can answer with, by what the operation takes."""

    WRITES = {"post", "put", "patch"}

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            add = responses.setdefault
            if operation.get("security") != []:
                add("401", "UNAUTHORIZED")
                add("403", "FORBIDDEN")
            if "{" in (path or ""):
                add("404", "NOT_FOUND")
            if method in self.WRITES:
                add("400", "BAD_REQUEST")
                add("413", "REQUEST_ENTITY_TOO_LARGE")
                add("415", "UNSUPPORTED_MEDIA_TYPE")
            if method in self.WRITES or operation.get("parameters"):
                add("422", "UNPROCESSABLE_ENTITY")
            if method in self.WRITES | {"delete"} and "{" in (path or ""):
                add("412", "PRECONDITION_FAILED")


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, naming each operation after its view function
    (`list_patients`, `book_appointment`): that name is the operationId generated clients
    call, so renaming a view is a breaking change. PUT, an alias of PATCH here, is
    `put_<thing>` beside PATCH's `update_<thing>`."""

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        operations = self._docs[endpoint]
        for method, doc in operations.items():
            if method == "parameters":
                continue
            name = obj.__name__
            if method == "put" and "patch" in operations:
                name = name.replace("update_", "put_", 1)
            doc.setdefault("manual_doc", {}).setdefault("operationId", name)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app, *, spec_kwargs=None):
        plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
        super().init_app(
            app,
            spec_kwargs={
                "marshmallow_plugin": plugin,
                "extra_plugins": [ErrorResponses()],
                **(spec_kwargs or {}),
            },
        )

    def handle_http_exception(self, error):
        return http_problem(error)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            else:
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
