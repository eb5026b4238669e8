from meditrack.audit import service
from meditrack.audit.schemas import AccessLogQuery, AuditEventQuery, AuditEventSchema
from meditrack.core.api import Blueprint
from meditrack.permissions import current_actor

blp = Blueprint(
    "audit", __name__, description="The append-only trail of every access to patient data."
)


@blp.get("/audit-events")
@blp.arguments(AuditEventQuery, location="query")
@blp.response(200, AuditEventSchema(many=True))
def list_audit_events(args):
    """Search the audit trail, newest first (admin).

    Admins. Every read of patient data, every change, every export and every refusal is an
    event; filter by actor, patient, action, outcome, resource type and a from/to window.
    Paged.
    """
    page = service.list_events(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.get("/patients/<int:patient_id>/access-log")
@blp.arguments(AccessLogQuery, location="query")
@blp.response(200, AuditEventSchema(many=True))
def list_patient_access_log(args, patient_id):
    """Who read or changed this patient's data, newest first (admin, the patient).

    Admins and the patient: every event about this patient's data, including emergency
    access. 404 for an archived patient (admins then search /audit-events by patient_id).
    Paged.
    """
    page = service.access_log(actor=current_actor(), patient_id=patient_id, args=args)
    return page.items, 200, page.headers
