from meditrack.appointments.schemas import WindowQuery
from meditrack.audit.models import Action, Outcome
from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import DateTime, QueryId, Schema, fields, validate

RESOURCE_TYPES = ("patient", "appointment", "record", "user", "report", "emergency_access")


class AuditEventSchema(Schema):
    id = fields.Integer()
    occurred_at = DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String(allow_none=True)
    action = fields.String(metadata={"enum": [a.value for a in Action]})
    resource_type = fields.String(metadata={"enum": list(RESOURCE_TYPES)})
    resource_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer(allow_none=True)
    outcome = fields.String(metadata={"enum": [o.value for o in Outcome]})
    ip = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    emergency_access_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The emergency access grant this access was made under."},
    )
    details = fields.Dict(
        allow_none=True,
        metadata={"description": 'What changed, by id: {"user_id": [old, new]}.'},
    )


class AccessLogQuery(ListQuery, WindowQuery):
    """Newest first unless sort=occurred_at; `from`/`to` on occurred_at."""

    SORTS = ("occurred_at",)

    actor_id = QueryId()
    action = fields.String(validate=validate.OneOf([a.value for a in Action]))
    outcome = fields.String(validate=validate.OneOf([o.value for o in Outcome]))


class AuditEventQuery(AccessLogQuery):
    patient_id = QueryId()
    resource_type = fields.String(validate=validate.OneOf(RESOURCE_TYPES))
