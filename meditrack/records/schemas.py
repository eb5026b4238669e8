from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import Date, DateTime, FreeText, Id, QueryBool, Schema, fields
from meditrack.records.models import MedicalRecord


class RecordSchema(Schema):
    id = fields.Integer(dump_only=True)
    patient_id = fields.Integer(
        dump_only=True, metadata={"description": "The patient in the path of the create."}
    )
    doctor_id = fields.Integer(
        dump_only=True, metadata={"description": "The doctor who wrote it: always the caller."}
    )
    appointment_id = Id(
        allow_none=True,
        metadata={
            "description": (
                "The visit: an appointment of the same patient that is not archived (any status, "
                "any doctor), else 422."
            )
        },
    )
    record_date = Date(
        metadata={
            "description": (
                "The day the record is about. Default: today in hospital time; not in the future."
            )
        }
    )
    diagnosis = FreeText(
        required=True, allow_none=False, min_length=1, metadata={"example": "Seasonal asthma"}
    )
    treatment = FreeText(metadata={"example": "Salbutamol inhaler as needed"})
    notes = FreeText()
    created_by = fields.Integer(
        dump_only=True, metadata={"description": "The user id of the author."}
    )
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)


class RecordQuery(ListQuery):
    SORTS = {"record_date": MedicalRecord.record_date, "created_at": MedicalRecord.created_at}

    include_archived = QueryBool(load_default=False)
