from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import Date, DateTime, FreeText, Id, QueryBool, Schema, fields


class RecordSchema(Schema):
    id = fields.Integer(dump_only=True)
    patient_id = fields.Integer(dump_only=True)
    doctor_id = fields.Integer(dump_only=True)
    appointment_id = Id(allow_none=True)
    record_date = Date(metadata={"description": "Default: today in hospital time."})
    diagnosis = FreeText(required=True, allow_none=False, min_length=1)
    treatment = FreeText()
    notes = FreeText()
    created_by = fields.Integer(dump_only=True)
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)


class RecordQuery(ListQuery):
    SORTS = ("record_date", "created_at")

    include_archived = QueryBool(load_default=False)
