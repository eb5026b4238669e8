"""Writing and reading the audit trail.

Events of a request that succeeds are added to its transaction, so a change and its event
land together or not at all. Events of a request that fails (a refusal, a wrong password)
are kept aside and written by the request boundary after its transaction has been rolled
back (core/transaction.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask import g, has_request_context, request
from sqlalchemy import insert, select

from meditrack.audit.models import Action, AuditEvent, Outcome
from meditrack.audit.schemas import AccessLogQuery
from meditrack.core import timeutil, transaction
from meditrack.core.errors import Forbidden
from meditrack.core.lookup import referenced
from meditrack.core.pagination import Page, order_by, paginate
from meditrack.core.schemas import window
from meditrack.emergency import service as emergency_service
from meditrack.extensions import db
from meditrack.patients import service as patients_service
from meditrack.patients.models import Patient
from meditrack.permissions import Actor, optional_actor, require_role, sees_all_patients
from meditrack.users.models import Role, User

Subject = tuple[int | None, int | None]  # (resource_id, patient_id)


@dataclass(frozen=True)
class Who:
    """Who an event is about when nobody is signed in yet (a sign-in names its account)."""

    user_id: int | None = None
    role: str | None = None


def _event(
    action: Action,
    resource_type: str,
    *,
    resource_id: int | None = None,
    patient_id: int | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    who: Actor | Who | None = None,
    details: dict | None = None,
) -> dict:
    """An event's row. Its ids are taken now: a row it names must be flushed already.
    `who` is the signed-in caller unless given.

    An event about a grant names it; any other event of a doctor about a patient under
    their active emergency access names that grant (read once per request)."""
    who = who or optional_actor() or Who()
    actor = who if isinstance(who, Actor) else None
    in_request = has_request_context()
    if resource_type == emergency_service.RESOURCE_TYPE:
        emergency_access_id = resource_id
    else:
        emergency_access_id = emergency_service.grant_over(actor, patient_id)
    return {
        "occurred_at": timeutil.now(),
        "actor_id": who.user_id,
        "actor_role": str(who.role) if who.role is not None else None,
        "action": str(action),
        "resource_type": resource_type,
        "resource_id": resource_id,
        "patient_id": patient_id,
        "outcome": str(outcome),
        "ip": request.remote_addr if in_request else None,
        "request_id": g.get("request_id") if in_request else None,
        "emergency_access_id": emergency_access_id,
        "details": details,
    }


_INSERT = insert(AuditEvent.__table__)


def _write(rows: list[dict]) -> None:
    """Insert events in the session's transaction: one plain INSERT, no unit of work and
    no RETURNING (nothing reads an event back in the request that wrote it)."""
    if rows:
        db.session.execute(_INSERT, rows)
        transaction.local().setdefault("audit_rows", []).extend(rows)


def record(action: Action, resource_type: str, **event) -> None:
    """Write an event in the current transaction (`event`: the keywords of _event)."""
    _write([_event(action, resource_type, **event)])


def record_many(action: Action, resource_type: str, subjects: Iterable[Subject]) -> None:
    """One event per subject, written in one batch."""
    _write(
        [
            _event(action, resource_type, resource_id=resource_id, patient_id=patient_id)
            for resource_id, patient_id in subjects
        ]
    )


def record_after_failure(action: Action, resource_type: str, **event) -> None:
    """Keep an event of a request that is about to fail (`event`: the keywords of _event;
    the outcome is `denied` unless given). The request boundary writes it once the request
    has been rolled back (core/transaction.py, step AUDIT). Its row is made then too:
    making it may read the database (a doctor's emergency grants), which a failed
    PostgreSQL transaction would refuse."""
    event.setdefault("outcome", Outcome.DENIED)
    transaction.after_rollback(
        transaction.Step.AUDIT, lambda _error: record(action, resource_type, **event)
    )


def written() -> list[dict]:
    """The events this request has written so far in its current transaction."""
    return transaction.local().get("audit_rows", [])


def _events(actor: Actor, args: Mapping, *conditions) -> Page:
    # Like every id in a query: one that names no user or patient is a 422 naming the field,
    # for admins. A patient reading their log learns nothing of who exists: a filter that
    # names no one matches nothing.
    if args.get("actor_id") is not None and sees_all_patients(actor):
        referenced(User, args["actor_id"], "actor_id")
    if args.get("patient_id") is not None:
        referenced(Patient, args["patient_id"], "patient_id", allow_archived=True)
    stmt = select(AuditEvent).where(*conditions)
    for field in ("actor_id", "patient_id", "resource_type", "action", "outcome"):
        if args.get(field) is not None:
            stmt = stmt.where(getattr(AuditEvent, field) == args[field])
    start, end = window(args)
    if start is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= start)
    if end is not None:
        stmt = stmt.where(AuditEvent.occurred_at < end)
    # Newest first by default; the id breaks ties between events of one moment.
    ordered = order_by(stmt, args.get("sort"), AccessLogQuery.SORTS, "-occurred_at", AuditEvent.id)
    return paginate(ordered, args)


def list_events(*, actor: Actor, args: Mapping) -> Page:
    require_role(actor, Role.ADMIN)
    return _events(actor, args)


def access_log(*, actor: Actor, patient_id: int, args: Mapping) -> Page:
    """Who touched this patient's data: for admins and the patient themselves."""
    if actor.role not in (Role.ADMIN, Role.PATIENT):
        raise Forbidden("Only admins and the patient read a patient's access log.")
    patient = patients_service.get_patient(actor=actor, patient_id=patient_id)
    return _events(actor, {**args, "patient_id": None}, AuditEvent.patient_id == patient.id)
