"""HTTP conventions shared by every route: request ids, JSON bodies, caching, ETags."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import NoReturn
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from meditrack.core.errors import AppError, FieldError, PreconditionFailed
from meditrack.core.schemas import MAX_ID

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
BODY_METHODS = {"POST", "PUT", "PATCH"}
UNCACHED_PREFIXES = ("/docs",)
#: No body this API takes is nested more than a few levels (a doctor's working hours: 3).
MAX_JSON_DEPTH = 32


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class IdConverter(IntegerConverter):
    """`<int:...>` in a path: an id past the id columns' range (32-bit integers) names no
    row, so it is a 404 and never reaches the database (PostgreSQL would refuse to compare
    it). Raised as NotFound: werkzeug turns a ValidationError into a 405 when the same
    path has routes for other methods."""

    #: ASCII digits only: werkzeug's \d also matches full-width and other Unicode digits,
    #: which int() reads, so a full-width one would reach patient 1.
    regex = r"[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
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


class RefusedJSON(ValueError):
    """JSON text that Python's json module would read but this API refuses: a ValueError,
    so that werkzeug turns it into a 400 like any other unreadable body."""


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict:
    """Parsers disagree on which of two equal keys wins, so a body that has them could mean
    one thing to a proxy or a log and another to us: it is refused."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            name = json.dumps(key[:100])
            raise RefusedJSON(f"The key {name} appears more than once in one object.")
        obj[key] = value
    return obj


def _not_json(constant: str) -> NoReturn:
    raise RefusedJSON(f"{constant} is not a JSON value.")


def _check_parsed(data) -> None:
    """Refuse nesting deeper than any body needs and strings that are not Unicode text
    (an unpaired surrogate, written as a \\ud800 escape, cannot be encoded or stored).
    Walked without recursion, so that no depth can exhaust the stack."""
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise RefusedJSON("The JSON body is nested too deeply.")
            if isinstance(value, dict):
                for key in value:
                    _check_text(key)
                value = value.values()
            pending.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RefusedJSON("The body holds an unpaired surrogate (\\ud800-\\udfff).") from exc


class StrictJSONProvider(DefaultJSONProvider):
    """Reads JSON as RFC 8259 has it: UTF-8 only (no other encoding, no encoded surrogates,
    no byte order mark), no NaN or Infinity, no duplicate keys, no unpaired surrogates, at
    most MAX_JSON_DEPTH levels deep. Writes it as Flask does."""

    def loads(self, s: str | bytes, **kwargs):
        if isinstance(s, bytes | bytearray):
            s = bytes(s).decode("utf-8")  # strict; a UnicodeDecodeError is a ValueError
        kwargs.setdefault("object_pairs_hook", _object_without_duplicates)
        kwargs.setdefault("parse_constant", _not_json)
        data = json.loads(s, **kwargs)
        _check_parsed(data)
        return data


def use_strict_json(app: Flask) -> None:
    """Install StrictJSONProvider, keeping the output settings of the provider it replaces."""
    provider = StrictJSONProvider(app)
    for setting in ("ensure_ascii", "sort_keys", "compact", "mimetype"):
        setattr(provider, setting, getattr(app.json, setting))
    app.json = provider


def _body_problem(cause: BaseException | None) -> str:
    if isinstance(cause, RefusedJSON):
        return str(cause)
    if isinstance(cause, UnicodeDecodeError):
        return "The body is not valid UTF-8."
    return "The body is not valid JSON."


def _takes_body() -> bool:
    """Whether the operation reads a JSON body (its view has a `json` argument schema)."""
    view = current_app.view_functions.get(request.endpoint)
    arguments = getattr(view, "_apidoc", {}).get("arguments", {})
    return any(parameter.get("in") == "json" for parameter in arguments.get("parameters", ()))


def _read_body() -> None:
    if request.method not in BODY_METHODS:
        return
    has_body = (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )
    if not has_body:
        # Typed as JSON but empty: no JSON value at all, not an empty object. An operation
        # without a body (sign-out, restore) ignores the header, as it ignores a body.
        if request.is_json and _takes_body():
            raise AppError("The body is empty; send a JSON document.")
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        request.get_json()  # parsed once here, strictly; cached for the schemas
    except BadRequest as exc:
        raise AppError(_body_problem(exc.__cause__)) from exc
    except RecursionError as exc:
        raise AppError("The JSON body is nested too deeply.") from exc


def _percent_decoded(part: bytes) -> bytes:
    return unquote_to_bytes(part.replace(b"+", b" "))


def _read_query() -> None:
    """A query parameter that is not UTF-8 once percent-decoded is refused (422 naming it),
    rather than read with replacement characters as something the caller did not send."""
    raw = request.query_string
    if request.endpoint is None or (raw.isascii() and b"%" not in raw):
        return
    invalid = {}
    for pair in raw.split(b"&"):
        name, _, value = map(_percent_decoded, pair.partition(b"="))
        try:
            name.decode("utf-8")
            value.decode("utf-8")
        except UnicodeDecodeError:
            invalid[name.decode("utf-8", "replace")] = ["Not valid UTF-8."]
    if invalid:
        raise FieldError(invalid)


def _assign_request_id() -> None:
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex


def _read_own_body(data: bytes):
    """A response of ours, read back for its ETag. The strict reader that request bodies get
    (duplicate keys, depth, surrogates) would spend its checks on JSON we wrote ourselves."""
    try:
        return json.loads(data, parse_constant=_not_json)
    except ValueError:
        return None


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
        body = _read_own_body(response.get_data())
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
    """After authentication: an anonymous caller learns nothing from body or query errors.
    Bodies are read with StrictJSONProvider."""
    use_strict_json(app)
    app.before_request(_read_query)
    app.before_request(_read_body)
