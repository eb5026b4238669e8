from meditrack.audit.models import Action, AuditEvent, Outcome
from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import DateTime, QueryId, Schema, WindowQuery, fields, validate

RESOURCE_TYPES = ("patient", "appointment", "record", "user", "report", "emergency_access")


class AuditEventSchema(Schema):
    id = fields.Integer(metadata={"description": "Increasing; orders events of the same instant."})
    occurred_at = DateTime(metadata={"description": "When the server recorded it."})
    actor_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The user who acted; null for a sign-in attempt that did not succeed."
        },
    )
    actor_role = fields.String(
        allow_none=True, metadata={"description": "The actor's role at the time."}
    )
    action = fields.String(metadata={"enum": [a.value for a in Action]})
    resource_type = fields.String(metadata={"enum": list(RESOURCE_TYPES)})
    resource_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": (
                "The id of the patient, appointment, record, user or grant; null for a refused "
                "list or create, a sign-in with an unknown email, and exports."
            )
        },
    )
    patient_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": (
                "The patient the data belongs to; null when the event concerns no patient or names"
                " an id that does not exist."
            )
        },
    )
    outcome = fields.String(metadata={"enum": [o.value for o in Outcome]})
    ip = fields.String(
        allow_none=True,
        metadata={
            "description": (
                "The client address as the server sees it (behind a reverse proxy, the proxy's)."
            )
        },
    )
    request_id = fields.String(
        allow_none=True,
        metadata={"description": "The request's X-Request-ID, to find it in the server log."},
    )
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

    SORTS = {"occurred_at": AuditEvent.occurred_at}

    actor_id = QueryId()
    action = fields.String(validate=validate.OneOf([a.value for a in Action]))
    outcome = fields.String(validate=validate.OneOf([o.value for o in Outcome]))


class AuditEventQuery(AccessLogQuery):
    patient_id = QueryId()
    resource_type = fields.String(validate=validate.OneOf(RESOURCE_TYPES))
