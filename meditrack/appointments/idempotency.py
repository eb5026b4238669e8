"""Idempotency-Key on POST: the first response to a key is replayed for 24 hours.

Keys belong to the user who sent them. The same key with the same body replays the first
answer (status, body, Location; errors too); the same key with another body is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from flask import Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from meditrack.appointments.models import IdempotencyRecord
from meditrack.core import timeutil
from meditrack.core.errors import AppError, FieldError, render
from meditrack.extensions import db
from meditrack.permissions import current_actor

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
LIFETIME = timedelta(hours=24)
HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Retry safely: the same key and body within 24 hours replays the first "
    "response; the same key with another body answers 422 idempotency_mismatch.",
}


class IdempotencyMismatch(AppError):
    status, code = 422, "idempotency_mismatch"


def idempotent(view):
    """Wrap a POST view (outside its argument parsing, so that errors replay too)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not KEY.match(key):
            raise FieldError(HEADER, "Use 1 to 255 visible ASCII characters.")
        user_id = current_actor().user_id
        digest = _digest()
        stored = _find(user_id, key)
        if stored is not None:
            return _replay(stored, digest)
        try:
            response = view(*args, **kwargs)
        except (AppError, HTTPException) as error:
            db.session.rollback()
            return _store_apart(user_id, key, digest, render(error))
        db.session.add(_record(user_id, key, digest, response))
        return response

    return wrapper


def _digest() -> str:
    body = request.get_json(silent=True)
    # the route, not the path: `/appointments` and `/appointments/` are one collection
    target = [request.endpoint, request.view_args]
    canonical = json.dumps([target, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at > timeutil.now() - LIFETIME,
        )
    )


def _record(user_id: int, key: str, digest: str, response: Response) -> IdempotencyRecord:
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.created_at <= timeutil.now() - LIFETIME,
        )
    )
    return IdempotencyRecord(
        user_id=user_id,
        key=key,
        request_hash=digest,
        status_code=response.status_code,
        response_body=response.get_data(as_text=True),
        location=response.headers.get("Location"),
    )


def _store_apart(user_id: int, key: str, digest: str, response: Response) -> Response:
    """An error rolled the request back; its answer is kept in a transaction of its own."""
    db.session.add(_record(user_id, key, digest, response))
    try:
        db.session.commit()
    except IntegrityError:  # the same key, sent at the same moment, was stored first
        db.session.rollback()
        stored = _find(user_id, key)
        if stored is not None:
            return _replay(stored, digest)
    return response


def _replay(stored: IdempotencyRecord, digest: str) -> Response:
    if stored.request_hash != digest:
        raise IdempotencyMismatch(f"The {HEADER} was already used with a different request body.")
    response = Response(stored.response_body, status=stored.status_code)
    response.mimetype = (
        "application/problem+json" if stored.status_code >= 400 else "application/json"
    )
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response
