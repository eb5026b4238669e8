from flask import url_for

from meditrack.audit.models import Action
from meditrack.audit.trail import trail
from meditrack.core.api import Blueprint
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
def request_emergency_access(data):
    """Open emergency access to the patient with this exact MRN (doctors)."""
    grant = service.request_access(actor=current_actor(), data=data)
    location = url_for("emergency.get_emergency_access", access_id=grant.id)
    return grant, 201, {"Location": location}


@blp.get("")
@blp.arguments(EmergencyAccessQuery, location="query")
@blp.response(200, EmergencyAccessSchema(many=True))
@trail(service.RESOURCE_TYPE, Action.LIST)
def list_emergency_access(args):
    """List emergency access grants, newest first (admin)."""
    page = service.list_grants(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.get("/<int:access_id>")
@blp.response(200, EmergencyAccessSchema)
@trail(service.RESOURCE_TYPE, Action.READ)
def get_emergency_access(access_id):
    """Show one grant (admin, the doctor who holds it)."""
    return service.get_grant(actor=current_actor(), grant_id=access_id)


@blp.post("/<int:access_id>/end")
@blp.response(200, EmergencyAccessSchema)
@trail(service.RESOURCE_TYPE, Action.UPDATE)
def end_emergency_access(access_id):
    """End a grant before its window closes (admin, the doctor who holds it)."""
    actor = current_actor()
    grant = service.get_grant(actor=actor, grant_id=access_id)
    return service.end_grant(actor=actor, grant=grant)
