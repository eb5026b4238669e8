from itertools import groupby

from marshmallow import ValidationError, validates_schema

from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import (
    Bool,
    BoundedList,
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
from meditrack.doctors.models import Doctor

#: A week of split shifts needs a few dozen periods at most; the cap keeps a refusal cheap.
MAX_WORKING_PERIODS = 50


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
    first_name = ShortText(required=True, metadata={"example": "Grace"})
    last_name = ShortText(required=True, metadata={"example": "Okafor"})
    email = Email(
        required=True,
        metadata={
            "description": (
                "Unique among doctors, archived ones included, without regard to case (409 "
                "duplicate)."
            )
        },
    )
    phone = Phone()
    specialization = ShortText(required=True, metadata={"example": "Cardiology"})
    license_number = ShortText(
        allow_none=True,
        metadata={"description": "Unique among doctors, archived ones included (409 duplicate)."},
    )
    department_id = Id(
        required=True, metadata={"description": "An existing department (else 422)."}
    )
    department = fields.Nested(DepartmentRefSchema, dump_only=True)
    user_id = Id(
        allow_none=True,
        metadata={
            "description": (
                "The doctor's login: an account with the role doctor (else 422) that no other "
                "doctor has (else 409 duplicate)."
            )
        },
    )
    is_active = Bool(
        metadata={
            "description": (
                "Default true. An inactive doctor stays listed but has no free slots and takes no "
                "bookings."
            )
        }
    )
    slot_minutes = Int(
        validate=validate.Range(min=5, max=240),
        metadata={"description": "Length of one booking slot; default 30."},
    )
    working_hours = BoundedList(
        fields.Nested(WorkingPeriodSchema),
        max_items=MAX_WORKING_PERIODS,
        error="At most {max} working periods.",
        metadata={
            "description": (
                "Weekly periods in hospital time, not overlapping on a weekday; default []. On "
                "update the list sent replaces the whole list."
            )
        },
    )
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)

    @validates_schema
    def _periods_do_not_overlap(self, data, **kwargs):
        """One pass over the periods sorted by weekday and start: a period overlaps an
        earlier one exactly when it starts before the latest end so far that day. The one
        that starts later is named (adjacent periods, 09-13 and 13-17, do not overlap)."""
        periods = data.get("working_hours") or []
        by_start = sorted(
            range(len(periods)),
            key=lambda i: (periods[i]["weekday"], periods[i]["starts_at"]),
        )
        errors = {}
        for _, indices in groupby(by_start, key=lambda i: periods[i]["weekday"]):
            first, *rest = indices
            latest_end = periods[first]["ends_at"]
            for index in rest:
                period = periods[index]
                if period["starts_at"] < latest_end:
                    errors[index] = {"start": ["Overlaps another period on the same weekday."]}
                latest_end = max(latest_end, period["ends_at"])
        if errors:
            raise ValidationError({"working_hours": dict(sorted(errors.items()))})


class DoctorRefSchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    specialization = fields.String()


class DoctorQuery(ListQuery):
    SORTS = {"last_name": Doctor.last_name, "created_at": Doctor.created_at}

    department_id = QueryId()
    specialization = ShortText(metadata={"description": "Exact, ignoring case."})
    is_active = QueryBool()
    include_archived = QueryBool(load_default=False)
