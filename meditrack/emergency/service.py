"""Emergency access ("break the glass"): a doctor reaches a patient they have never seen,
for a fixed window, in the open. Every grant is an audit event, and so is every access
made under one (audit.service marks it with the grant's id)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import and_, not_, select

from meditrack.core import timeutil, transaction
from meditrack.core.errors import Conflict, Forbidden, NotFound
from meditrack.core.lookup import referenced
from meditrack.core.pagination import Page, order_by, paginate
from meditrack.core.schemas import window
from meditrack.doctors.models import Doctor
from meditrack.emergency.models import EmergencyAccess
from meditrack.emergency.schemas import EmergencyAccessQuery
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.permissions import Actor, active_emergency_access, require_role
from meditrack.users.models import Role

RESOURCE_TYPE = "emergency_access"


def request_access(*, actor: Actor, data: Mapping) -> EmergencyAccess:
    """Open a grant over the patient with this exact MRN, for the configured window.

    An archived patient is gone from the API, so their MRN matches no one (404)."""
    require_role(actor, Role.DOCTOR)
    if actor.doctor_id is None:
        raise Forbidden("Your account is not linked to a doctor.")
    patient_id = db.session.scalar(
        select(Patient.id).where(Patient.mrn == data["mrn"], Patient.archived_at.is_(None))
    )
    if patient_id is None:
        raise NotFound("No patient has that MRN.")
    starts = timeutil.now()
    minutes = current_app.config["MEDITRACK_EMERGENCY_ACCESS_MINUTES"]
    grant = EmergencyAccess(
        patient_id=patient_id,
        doctor_id=actor.doctor_id,
        reason=data["reason"],
        starts_at=starts,
        expires_at=starts + timedelta(minutes=minutes),
        created_by=actor.user_id,
    )
    db.session.add(grant)
    db.session.flush()
    _forget_grants()
    return grant


def list_grants(*, actor: Actor, args: Mapping) -> Page:
    require_role(actor, Role.ADMIN)
    stmt = select(EmergencyAccess)
    for field, model in (("doctor_id", Doctor), ("patient_id", Patient)):
        if args.get(field) is not None:
            referenced(model, args[field], field, allow_archived=True)
            stmt = stmt.where(getattr(EmergencyAccess, field) == args[field])
    if args.get("active") is not None:
        moment = timeutil.now()
        open_now = and_(
            EmergencyAccess.ended_at.is_(None),
            EmergencyAccess.starts_at <= moment,
            EmergencyAccess.expires_at > moment,
        )
        stmt = stmt.where(open_now if args["active"] else not_(open_now))
    start, end = window(args)
    if start is not None:
        stmt = stmt.where(EmergencyAccess.starts_at >= start)
    if end is not None:
        stmt = stmt.where(EmergencyAccess.starts_at < end)
    ordered = order_by(
        stmt, args.get("sort"), EmergencyAccessQuery.SORTS, "-starts_at", EmergencyAccess.id
    )
    return paginate(ordered, args)


def get_grant(*, actor: Actor, grant_id: int) -> EmergencyAccess:
    """For admins and the doctor who holds it; another doctor's grant answers 404."""
    require_role(actor, Role.ADMIN, Role.DOCTOR)
    stmt = select(EmergencyAccess).where(EmergencyAccess.id == grant_id)
    if actor.role == Role.DOCTOR:
        stmt = stmt.where(EmergencyAccess.doctor_id == actor.doctor_id)
    grant = db.session.scalar(stmt)
    if grant is None:
        raise NotFound(f"Emergency access {grant_id} does not exist.")
    return grant


def end_grant(*, actor: Actor, grant: EmergencyAccess) -> EmergencyAccess:
    """End a grant early. One that has ended or expired already is a 409: it cannot end
    twice, and its record stays as it was."""
    moment = timeutil.now()
    if grant.ended_at is not None:
        raise Conflict(f"Emergency access {grant.id} has ended already.")
    if grant.expires_at <= moment:
        raise Conflict(f"Emergency access {grant.id} has expired already.")
    grant.ended_at = moment
    grant.ended_by = actor.user_id
    db.session.flush()
    _forget_grants()
    return grant


def grant_over(actor: Actor | None, patient_id: int | None) -> int | None:
    """The id of the actor's active grant over this patient, if they hold one."""
    if actor is None or patient_id is None or actor.role != Role.DOCTOR:
        return None
    if actor.doctor_id is None or not has_app_context():
        return None
    return _active_grants(actor.doctor_id).get(patient_id)


def _active_grants(doctor_id: int) -> dict[int, int]:
    """{patient id: grant id} of the doctor's open grants, read once per transaction (a
    rolled-back grant must not mark the events written after the rollback)."""
    local = transaction.local()
    grants = local.get("emergency_grants")
    if grants is None:
        rows = db.session.execute(
            active_emergency_access(
                doctor_id, EmergencyAccess.patient_id, EmergencyAccess.id
            ).order_by(EmergencyAccess.id)
        )
        grants = local["emergency_grants"] = dict(rows.tuples().all())
    return grants


def _forget_grants() -> None:
    """The doctor's grants changed in this request: read them again at the next event."""
    transaction.local().pop("emergency_grants", None)
