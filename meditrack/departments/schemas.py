from sqlalchemy import func

from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import DateTime, FreeText, Phone, Schema, ShortText, fields
from meditrack.departments.models import Department


class DepartmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = ShortText(
        required=True,
        metadata={
            "description": "Unique without regard to case or surrounding spaces (409 duplicate).",
            "example": "Cardiology",
        },
    )
    description = FreeText()
    location = ShortText(allow_none=True, metadata={"example": "Building A, floor 2"})
    phone = Phone()
    doctor_count = fields.Integer(
        dump_only=True,
        metadata={"description": "Doctors in the department, archived ones left out."},
    )
    patient_count = fields.Integer(
        dump_only=True,
        metadata={"description": "Patients in the department, archived ones left out."},
    )
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)


class DepartmentRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class DepartmentQuery(ListQuery):
    SORTS = {"name": func.lower(Department.name), "created_at": Department.created_at}
