from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import (
    DateTime,
    FreeText,
    QueryBool,
    QueryId,
    Schema,
    WindowQuery,
    fields,
    validate,
)
from meditrack.emergency.models import EmergencyAccess

#: A reason short enough to be a shrug ("emergency") is refused: it is what the patient
#: and the admins read later to judge the access.
REASON_MIN = 20


class EmergencyAccessRequestSchema(Schema):
    mrn = fields.String(
        required=True,
        validate=validate.Length(min=1, max=16),
        metadata={"description": "The patient's exact MRN (e.g. from a wristband)."},
    )
    reason = FreeText(
        required=True,
        allow_none=False,
        min_length=REASON_MIN,
        metadata={"example": "Unconscious on arrival; allergies and medication unknown."},
    )


class EmergencyAccessSchema(Schema):
    id = fields.Integer()
    patient_id = fields.Integer()
    doctor_id = fields.Integer()
    reason = fields.String()
    starts_at = DateTime()
    expires_at = DateTime()
    ended_at = DateTime(allow_none=True)
    ended_by = fields.Integer(allow_none=True, metadata={"description": "A user id."})
    created_by = fields.Integer(metadata={"description": "A user id."})


class EmergencyAccessQuery(ListQuery, WindowQuery):
    """Newest first unless sort=starts_at; `from`/`to` on starts_at."""

    SORTS = {"starts_at": EmergencyAccess.starts_at}

    doctor_id = QueryId()
    patient_id = QueryId()
    active = QueryBool(metadata={"description": "true: open now; false: ended or expired."})
