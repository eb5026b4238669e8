"""Every failure becomes an RFC 9457 problem+json with a stable `code` word."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Mapping
from itertools import islice

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: What a 503 asks clients to wait: about the time a database restart or fail-over takes.
RETRY_AFTER_SECONDS = 5
#: The most fields one 422 names. A body with thousands of mistakes costs what its parse
#: costs and answers a few KB; the rest is cut and `errors_truncated` says so.
MAX_ERRORS = 50

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}

TITLES = {
    "bad_request": "Bad request",
    "unauthorized": "Authentication required",
    "token_expired": "Token expired",
    "token_revoked": "Token revoked",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "request_timeout": "Request timeout",
    "conflict": "Conflict",
    "duplicate": "Already exists",
    "has_dependents": "Still in use",
    "appointment_conflict": "Appointment conflict",
    "outside_working_hours": "Outside working hours",
    "invalid_transition": "Invalid status change",
    "idempotency_mismatch": "Idempotency key reused",
    "precondition_failed": "Precondition failed",
    "payload_too_large": "Payload too large",
    "uri_too_long": "URI too long",
    "unsupported_media_type": "Unsupported media type",
    "expectation_failed": "Expectation failed",
    "validation_error": "Invalid input",
    "rate_limited": "Too many requests",
    "headers_too_large": "Request headers too large",
    "internal_error": "Internal server error",
    "not_implemented": "Not implemented",
    "service_unavailable": "Service unavailable",
    "query_timeout": "Query timed out",
}


class AppError(Exception):
    """A domain error: raised in services, rendered once, here."""

    status = 400
    code = "bad_request"

    def __init__(
        self, detail: str | None = None, *, headers: Mapping[str, str] | None = None, **extra
    ):
        super().__init__(detail or TITLES.get(self.code, self.code))
        self.detail = detail or TITLES.get(self.code, self.code)
        self.headers = dict(headers or {})
        self.extra = extra


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Duplicate(Conflict):
    code = "duplicate"


class HasDependents(Conflict):
    code = "has_dependents"


class PreconditionFailed(AppError):
    status, code = 412, "precondition_failed"


class RateLimited(AppError):
    status, code = 429, "rate_limited"


def about_patient(error: AppError, patient_id: int | None) -> AppError:
    """Name the patient a refusal is about, for its denied audit event, where the path
    does not (a booking's patient is in its body). The answer says nothing of it."""
    error.audit_patient_id = patient_id
    return error


class FieldError(AppError):
    """A rule broken in a service, reported like a schema error naming the field."""

    status, code = 422, "validation_error"

    def __init__(self, field: str | Mapping[str, list[str]], message: str | None = None):
        errors = dict(field) if isinstance(field, Mapping) else {field: [message or "Invalid."]}
        super().__init__("The request has invalid fields.", errors=errors)


def problem_body(status: int, code: str, detail: str | None = None, **extra) -> dict:
    """The problem document; also written by the server itself (meditrack/serving) for
    requests it refuses before the app sees them."""
    if len(extra.get("errors") or ()) > MAX_ERRORS:
        extra["errors"] = dict(islice(extra["errors"].items(), MAX_ERRORS))
        extra["errors_truncated"] = True
    return {
        "type": f"urn:meditrack:problem:{code}",
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "detail": detail or TITLES.get(code, code),
        "code": code,
        **extra,
    }


def problem(status: int, code: str, detail: str | None = None, *, headers=None, **extra):
    response = jsonify(problem_body(status, code, detail, **extra))
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """{'working_hours': {0: {'start': [...]}}} -> {'working_hours.0.start': [...]}.
    Stops one past MAX_ERRORS: no more are shown, and one more says that some were cut."""
    flat: dict[str, list[str]] = {}
    for name, texts in _flat_messages(messages, prefix):
        flat[name] = texts
        if len(flat) > MAX_ERRORS:
            break
    return flat


def _flat_messages(messages, prefix: str) -> Iterator[tuple[str, list[str]]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema" and prefix:
                name = prefix  # a nested object's own error is named by its path
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            yield from _flat_messages(value, name)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield prefix or "_schema", list(messages)
    elif isinstance(messages, list):
        for item in messages:
            yield from _flat_messages(item, prefix)
    else:
        yield prefix or "_schema", [str(messages)]


def http_problem(error: HTTPException):
    """Render werkzeug/webargs HTTP errors (including 422 from schemas) as problems."""
    status = error.code or 500
    code = HTTP_CODES.get(status, "bad_request")
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    if "messages" in data:
        errors: dict[str, list[str]] = {}
        for location_errors in data["messages"].values():
            errors.update(flatten(location_errors))
            if len(errors) > MAX_ERRORS:
                break
        return problem(
            422,
            "validation_error",
            "The request has invalid fields.",
            errors=errors,
            headers=headers,
        )
    detail = data.get("message") or (error.description if status < 500 else None)
    return problem(status, code, detail, headers=headers)


def integrity_problem(error: IntegrityError):
    """The database refused a write a service did not foresee (a race, usually)."""
    original = getattr(error, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    message = str(original or error).lower()
    if sqlstate == "23505" or "unique constraint" in message:
        return problem(409, "duplicate", "A record with these values already exists.")
    if sqlstate == "23503" or "foreign key" in message:
        return problem(409, "has_dependents", "The change conflicts with related records.")
    log.warning("integrity error not mapped to a field: %s", sqlstate or message[:200])
    return problem(409, "conflict", "The change conflicts with the stored data.")


#: SQLSTATEs of a transaction undone because it collided with a concurrent one (a deadlock,
#: a serialization failure, a lock it may not wait for): nothing was written, and the
#: same request sent again will most likely go through.
COLLISIONS = {"40P01", "40001", "55P03"}
#: A statement cancelled by the server: on PostgreSQL, the statement timeout that bounds
#: every request (core/postgres.py).
QUERY_CANCELED = "57014"


def database_unavailable(
    error: SQLAlchemyError,
    detail: str = "The database is unavailable; try again.",
    *,
    retry_after: int = RETRY_AFTER_SECONDS,
    code: str = "service_unavailable",
    **extra,
):
    """The database cannot be reached: a 503 the client may retry. The cause is logged
    here and never shown; the driver's first line names it without the statement or its
    parameters (which hold patient data)."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    log.error(
        "database unavailable on %s %s (request %s): %s: %s",
        request.method,
        request.url_rule.rule if request.url_rule else "-",
        g.get("request_id"),
        type(original).__name__,
        lines[0] if lines else "",
    )
    return problem(
        503,
        code,
        detail,
        headers={"Retry-After": str(retry_after)},
        **extra,
    )


def render(error: AppError | HTTPException):
    """The problem response for an error the client caused."""
    if isinstance(error, AppError):
        return problem(error.status, error.code, error.detail, headers=error.headers, **error.extra)
    return http_problem(error)


def register(app: Flask) -> None:
    app.register_error_handler(AppError, render)

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        return integrity_problem(error)

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError):
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate == QUERY_CANCELED:
            detail = (
                "The request took too long in the database and was stopped; nothing was changed."
            )
            return database_unavailable(error, detail, code="query_timeout")
        if sqlstate in COLLISIONS:
            detail = "The request collided with a concurrent change and was undone; send it again."
            return database_unavailable(error, detail, retry_after=1)
        return database_unavailable(error)

    @app.errorhandler(PoolTimeout)
    def _pool_exhausted(error: PoolTimeout):
        return database_unavailable(error, "The server is busy; try again.")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_problem(error)
        if isinstance(error, DBAPIError):
            # The driver's message can quote stored values (a duplicate key, a bad cast):
            # log where it happened and what kind of error, not the message.
            original = error.orig
            log.error(
                "unhandled database error on %s %s (request %s): %s (SQLSTATE %s)\n%s",
                request.method,
                request.path,
                g.get("request_id"),
                type(original).__name__,
                getattr(original, "sqlstate", None),
                "".join(traceback.format_tb(error.__traceback__)),
            )
        else:
            log.exception(
                "unhandled error on %s %s (request %s)",
                request.method,
                request.path,
                g.get("request_id"),
            )
        return problem(500, "internal_error", "Something went wrong on our side.")
