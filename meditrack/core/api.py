"""flask-smorest's Api, taught to speak problem+json and bearer tokens."""

from __future__ import annotations

import copy
import http

import flask_smorest
import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest.utils import prepare_response

from meditrack.core import openapi
from meditrack.core.errors import HTTP_CODES, PROBLEM_JSON, http_problem


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response carries them."""

    type = ma.fields.String(metadata={"description": "`urn:meditrack:problem:<code>`."})
    title = ma.fields.String(metadata={"description": "The code's title, for people."})
    status = ma.fields.Integer(metadata={"description": "The HTTP status, repeated."})
    detail = ma.fields.String(metadata={"description": "What went wrong, in words."})
    code = ma.fields.String(metadata={"description": "Stable snake_case error word."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "validation_error only: messages per (flattened) field.",
            **openapi.OPTIONAL_IN_RESPONSES,
        },
    )
    errors_truncated = ma.fields.Boolean(
        metadata={
            "description": "Present (true) when `errors` names only the first 50 fields.",
            **openapi.OPTIONAL_IN_RESPONSES,
        }
    )
    conflicts = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "appointment_conflict only: the clashing times.",
            **openapi.OPTIONAL_IN_RESPONSES,
        },
    )


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
        "example": openapi.error_example(429),
        "headers": openapi.error_headers(429),
    }


def conflict(description: str, **examples: str) -> dict:
    """The arguments of `blp.alt_response(409, ...)`: a problem, with an example of each
    code word it may carry (`appointment_conflict="That time is taken."`)."""
    return {
        "schema": ProblemSchema,
        "content_type": PROBLEM_JSON,
        "description": description,
        "examples": {
            code: {"value": openapi.error_example(409, code, detail)}
            for code, detail in examples.items()
        },
        "headers": openapi.error_headers(409),
    }


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


#: A view that honours If-Match (it calls core.http.require_match): the header, and 412.
checks_if_match = Blueprint.doc(parameters=["IfMatch"])


class FinishedSpec(APISpec):
    """The document as served and committed: split into request and response schemas
    (core/openapi.py, finish). Works on a copy: the spec's own state stays as built."""

    def to_dict(self) -> dict:
        return openapi.finish(copy.deepcopy(super().to_dict()))


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.spec.__class__ = FinishedSpec  # flask-smorest makes an APISpec; ours adds to_dict

    def init_app(self, app, *, spec_kwargs=None):
        plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
        super().init_app(
            app,
            spec_kwargs={
                "marshmallow_plugin": plugin,
                "extra_plugins": [openapi.OperationConventions()],
                **(spec_kwargs or {}),
            },
        )

    def handle_http_exception(self, error):
        return http_problem(error)

    def _register_responses(self):
        """One response per status, each error with an example of its own status and the
        headers every answer carries. Called by flask-smorest as the spec is made."""
        openapi.register_components(self.spec)
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                response["headers"] = openapi.error_headers(status)
                if status in HTTP_CODES:
                    response["example"] = openapi.error_example(status)
                prepare_response(response, self.spec, PROBLEM_JSON)
            elif status == http.HTTPStatus.NOT_MODIFIED:
                response["headers"] = {"ETag": "ETag", "X-Request-ID": "RequestId"}
            else:
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
