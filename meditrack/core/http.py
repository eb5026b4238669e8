"""HTTP conventions shared by every route: request ids, JSON bodies, caching, ETags."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from flask import Flask, Response, g, request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from meditrack.core.errors import AppError, PreconditionFailed
from meditrack.core.schemas import MAX_ID

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
BODY_METHODS = {"POST", "PUT", "PATCH"}
UNCACHED_PREFIXES = ("/docs",)


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class IdConverter(IntegerConverter):
    """`<int:...>` in a path: an id past the id columns' range (32-bit integers) names no
    row, so it is a 404 and never reaches the database (PostgreSQL would refuse to compare
    it). Raised as NotFound: werkzeug turns a ValidationError into a 405 when the same
    path has routes for other methods."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError as exc:
            raise NotFound() from exc


def etag_of(data) -> str:
    """A strong validator over the JSON representation of a resource."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def require_match(representation: dict) -> None:
    """Honour If-Match on a write: a stale validator is refused with 412."""
    if not request.if_match:
        return
    if request.if_match.star_tag:
        return
    if not request.if_match.contains(etag_of(representation)):
        raise PreconditionFailed("The resource changed since you read it; fetch it again.")


def _read_body() -> None:
    if request.method not in BODY_METHODS:
        return
    has_body = (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )
    if not has_body:
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        request.get_json()  # parsed once here, cached for the schemas
    except BadRequest as exc:
        raise AppError("The body is not valid JSON.") from exc
    except RecursionError as exc:
        raise AppError("The JSON body is nested too deeply.") from exc


def _assign_request_id() -> None:
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    if not request.path.startswith(UNCACHED_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    if (
        request.method in {"GET", "POST", "PUT", "PATCH"}
        and response.status_code in (200, 201)
        and response.mimetype == "application/json"
        and response.get_data()[:1] == b"{"
    ):
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            response.set_etag(etag_of(body))
            if request.method == "GET":
                response.make_conditional(request)
    return response


def register(app: Flask) -> None:
    """Request ids first: every later hook, and every error, can name the request."""
    app.before_request(_assign_request_id)
    app.after_request(_finish)


def register_body_check(app: Flask) -> None:
    """After authentication: an anonymous caller learns nothing from body errors."""
    app.before_request(_read_body)
