"""Idempotency-Key on POST: the first response to a key is replayed for 24 hours.

Keys belong to the user who sent them. The same key with the same body replays the first
answer (status, body, Location; errors too); the same key with another body is refused.
A replay is audited like the first answer: each patient-bound record it shows is a read,
and a replayed refusal is a denied event again.
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
from meditrack.audit import service as audit
from meditrack.audit.models import Action, Outcome
from meditrack.core import timeutil, transaction
from meditrack.core.errors import AppError, FieldError, render
from meditrack.extensions import db
from meditrack.permissions import current_actor

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
LIFETIME = timedelta(hours=24)
#: The fields of an audit event that a replay records again.
ACCESS_FIELDS = ("action", "resource_type", "resource_id", "patient_id", "outcome")


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
        except (AppError, HTTPException):
            # Kept once the boundary has rolled the request back and written its events.
            transaction.after_rollback(
                transaction.Step.KEEP, lambda error: _keep_failure(user_id, key, digest, error)
            )
            raise
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
        accesses=[_access(event) for event in audit.written()],
    )


def _access(event: dict) -> dict:
    """What a replay must record again of an event the first request wrote."""
    return {name: event[name] for name in ACCESS_FIELDS}


def _keep_failure(user_id: int, key: str, digest: str, error: BaseException) -> Response | None:
    """Store a refusal's answer (after its rollback and its audit events). A concurrent
    request with the same key may have stored its own answer first: that one is then
    replayed instead."""
    try:
        with db.session.begin_nested():
            db.session.add(_record(user_id, key, digest, render(error)))
    except IntegrityError:
        stored = _find(user_id, key)
        if stored is not None:
            try:
                return _replay(stored, digest)
            except IdempotencyMismatch as mismatch:
                return render(mismatch)
    return None


def _replay(stored: IdempotencyRecord, digest: str) -> Response:
    if stored.request_hash != digest:
        raise IdempotencyMismatch(f"The {HEADER} was already used with a different request body.")
    _record_accesses(stored)
    response = Response(stored.response_body, status=stored.status_code)
    response.mimetype = (
        "application/problem+json" if stored.status_code >= 400 else "application/json"
    )
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _record_accesses(stored: IdempotencyRecord) -> None:
    """A replay shows what the first answer showed: each patient-bound record it returned is
    read again, and a refusal is refused again."""
    for access in stored.accesses or ():
        success = access["outcome"] == Outcome.SUCCESS
        audit.record(
            Action.READ if success else Action(access["action"]),
            access["resource_type"],
            resource_id=access["resource_id"],
            patient_id=access["patient_id"],
            outcome=Outcome(access["outcome"]),
        )
