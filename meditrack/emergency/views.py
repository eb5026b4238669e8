from flask import url_for

from meditrack.audit.models import Action
from meditrack.audit.trail import trail
from meditrack.core.api import Blueprint, conflict
from meditrack.emergency import service
from meditrack.emergency.schemas import (
    EmergencyAccessQuery,
    EmergencyAccessRequestSchema,
    EmergencyAccessSchema,
)
from meditrack.permissions import current_actor

blp = Blueprint(
    "emergency",
    __name__,
    url_prefix="/emergency-access",
    description='Emergency access ("break the glass"): a doctor reaches a patient outside '
    "their scope for a fixed window, every step audited. Grants are never edited or deleted.",
)


@blp.post("")
@blp.arguments(EmergencyAccessRequestSchema)
@blp.response(201, EmergencyAccessSchema)
@trail(service.RESOURCE_TYPE, Action.EMERGENCY_ACCESS)
@blp.alt_response(404, "NOT_FOUND", description="No patient has that MRN.")
def request_emergency_access(data):
    """Open emergency access to the patient with this exact MRN (doctors).

    Doctors, in an emergency: the exact MRN (as on a wristband) and a reason of at least 20
    characters. For MEDITRACK_EMERGENCY_ACCESS_MINUTES the patient is in the doctor's scope;
    the grant and every access made under it are audit events the patient sees. An MRN
    of no patient, or of an archived one, answers 404 (and is an audit event too).
    """
    grant = service.request_access(actor=current_actor(), data=data)
    location = url_for("emergency.get_emergency_access", access_id=grant.id)
    return grant, 201, {"Location": location}


@blp.get("")
@blp.arguments(EmergencyAccessQuery, location="query")
@blp.response(200, EmergencyAccessSchema(many=True))
@trail(service.RESOURCE_TYPE, Action.LIST)
def list_emergency_access(args):
    """List emergency access grants, newest first (admin).

    Admins. Filter by doctor, patient, a from/to window and whether the grant is active.
    Paged.
    """
    page = service.list_grants(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.get("/<int:access_id>")
@blp.response(200, EmergencyAccessSchema)
@trail(service.RESOURCE_TYPE, Action.READ)
def get_emergency_access(access_id):
    """Show one grant (admin, the doctor who holds it).

    Admins and the doctor who holds the grant.
    """
    return service.get_grant(actor=current_actor(), grant_id=access_id)


@blp.post("/<int:access_id>/end")
@blp.response(200, EmergencyAccessSchema)
@trail(service.RESOURCE_TYPE, Action.UPDATE)
@blp.alt_response(
    409,
    **conflict(
        "The grant has ended or expired already.", conflict="Emergency access 4 has ended already."
    ),
)
def end_emergency_access(access_id):
    """End a grant before its window closes (admin, the doctor who holds it).

    Admins and the doctor who holds the grant. 409 when it has ended or expired already.
    """
    actor = current_actor()
    grant = service.get_grant(actor=actor, grant_id=access_id)
    return service.end_grant(actor=actor, grant=grant)
