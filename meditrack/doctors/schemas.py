from marshmallow import ValidationError, validates_schema

from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import (
    Bool,
    ClockTime,
    DateTime,
    Email,
    Id,
    Int,
    Phone,
    QueryBool,
    QueryId,
    Schema,
    ShortText,
    fields,
    validate,
)
from meditrack.departments.schemas import DepartmentRefSchema


class WorkingPeriodSchema(Schema):
    weekday = Int(
        required=True,
        validate=validate.Range(min=0, max=6),
        metadata={"description": "0 is Monday, 6 is Sunday."},
    )
    start = ClockTime(required=True, attribute="starts_at", metadata={"example": "09:00"})
    end = ClockTime(required=True, attribute="ends_at", metadata={"example": "17:00"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["starts_at"] >= data["ends_at"]:
            raise ValidationError({"end": ["The end must be after the start."]})


class DoctorSchema(Schema):
    id = fields.Integer(dump_only=True)
    first_name = ShortText(required=True)
    last_name = ShortText(required=True)
    email = Email(required=True)
    phone = Phone()
    specialization = ShortText(required=True)
    license_number = ShortText(allow_none=True)
    department_id = Id(required=True)
    department = fields.Nested(DepartmentRefSchema, dump_only=True)
    user_id = Id(allow_none=True)
    is_active = Bool()
    slot_minutes = Int(
        validate=validate.Range(min=5, max=240),
        metadata={"description": "Length of one booking slot; default 30."},
    )
    working_hours = fields.List(fields.Nested(WorkingPeriodSchema))
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)

    @validates_schema
    def _periods_do_not_overlap(self, data, **kwargs):
        periods = data.get("working_hours") or []
        errors = {}
        for index, period in enumerate(periods):
            for other in periods[:index]:
                if (
                    period["weekday"] == other["weekday"]
                    and period["starts_at"] < other["ends_at"]
                    and other["starts_at"] < period["ends_at"]
                ):
                    errors[index] = {"start": ["Overlaps another period on the same weekday."]}
        if errors:
            raise ValidationError({"working_hours": errors})


class DoctorRefSchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    specialization = fields.String()


class DoctorQuery(ListQuery):
    SORTS = ("last_name", "created_at")

    department_id = QueryId()
    specialization = ShortText()
    is_active = QueryBool()
    include_archived = QueryBool(load_default=False)
