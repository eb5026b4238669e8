from __future__ import annotations

from marshmallow import ValidationError, validates_schema

from meditrack.appointments.models import STATUS_VALUES, Appointment, TimeOff
from meditrack.appointments.rules import MAX_MINUTES, MIN_MINUTES
from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import (
    DAYS,
    Date,
    DateTime,
    FreeText,
    Id,
    Int,
    QueryBool,
    QueryId,
    Schema,
    WindowQuery,
    fields,
    validate,
)
from meditrack.doctors.schemas import DoctorRefSchema
from meditrack.patients.schemas import PatientRefSchema

Minutes = lambda **kw: Int(validate=validate.Range(min=MIN_MINUTES, max=MAX_MINUTES), **kw)  # noqa: E731


class AppointmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    patient_id = fields.Integer(dump_only=True)
    doctor_id = fields.Integer(dump_only=True)
    department_id = fields.Integer(
        dump_only=True,
        metadata={
            "description": (
                "The doctor's department when it was booked or moved to that doctor; it stays when"
                " the doctor changes department."
            )
        },
    )
    patient = fields.Nested(PatientRefSchema, dump_only=True)
    doctor = fields.Nested(DoctorRefSchema, dump_only=True)
    start_time = DateTime(dump_only=True)
    end_time = DateTime(dump_only=True)
    duration_minutes = fields.Method(
        "_minutes",
        dump_only=True,
        metadata={"type": "integer", "description": "The length in whole minutes."},
    )
    status = fields.String(dump_only=True, metadata={"enum": list(STATUS_VALUES)})
    reason = fields.String(dump_only=True, allow_none=True)
    notes = fields.String(dump_only=True, allow_none=True)
    cancellation_reason = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Set when the appointment is cancelled."},
    )
    created_by = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The user who booked it."}
    )
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)

    def _minutes(self, appointment) -> int:
        return int((appointment.end_time - appointment.start_time).total_seconds() // 60)


class _Times(Schema):
    start_time = DateTime()
    end_time = DateTime(metadata={"description": "Send end_time or duration_minutes, not both."})
    duration_minutes = Minutes(
        metadata={"description": "Instead of end_time. Neither: the doctor's slot_minutes."}
    )

    @validates_schema
    def _one_length(self, data, **kwargs):
        if "end_time" in data and "duration_minutes" in data:
            raise ValidationError(
                {"duration_minutes": ["Send end_time or duration_minutes, not both."]}
            )


class BookingSchema(_Times):
    patient_id = Id(metadata={"description": "Optional for a patient booking for themselves."})
    doctor_id = Id(
        required=True, metadata={"description": "An existing, active doctor (else 422)."}
    )
    start_time = DateTime(
        required=True,
        metadata={
            "description": (
                "In the future, at most 2 years ahead, inside one of the doctor's working periods."
            )
        },
    )
    reason = FreeText()
    notes = FreeText()


class AppointmentUpdateSchema(_Times):
    """Move (times, doctor), edit reason/notes, or change the status (on its own)."""

    doctor_id = Id()
    reason = FreeText()
    notes = FreeText()
    status = fields.String(
        validate=validate.OneOf(STATUS_VALUES),
        metadata={
            "description": (
                "A status change, sent alone; the allowed changes and who may make them are in the"
                " guide."
            )
        },
    )
    cancellation_reason = FreeText(
        metadata={"description": "Required with status cancelled, and only with it."}
    )

    @validates_schema
    def _status_alone(self, data, **kwargs):
        if "status" in data:
            others = sorted(set(data) - {"status", "cancellation_reason"})
            if others:
                raise ValidationError(
                    {name: ["Change the status in a request of its own."] for name in others}
                )
        elif "cancellation_reason" in data:
            raise ValidationError({"cancellation_reason": ["Send it with status cancelled."]})


class HistoryEntrySchema(Schema):
    status = fields.String(metadata={"description": "The status after the change."})
    changed_at = DateTime()
    changed_by = fields.Integer(
        allow_none=True, metadata={"description": "The user who made the change."}
    )
    reason = fields.String(
        allow_none=True,
        metadata={"description": "The cancellation reason for a cancellation, else null."},
    )
    start_time = DateTime(
        metadata={"description": "The times after the change (a move shows the new ones)."}
    )
    end_time = DateTime()


_ONE_STATUS = " *(" + "|".join(STATUS_VALUES) + ") *"
#: The closed vocabulary of `status`, as the OpenAPI document states it (empty: no filter).
STATUS_LIST = f"^({_ONE_STATUS}(,{_ONE_STATUS})*)?$"


class AppointmentQuery(ListQuery, WindowQuery):
    SORTS = {"start_time": Appointment.start_time, "created_at": Appointment.created_at}

    patient_id = QueryId()
    doctor_id = QueryId()
    department_id = QueryId()
    status = fields.String(
        metadata={
            "description": f"One status or a comma-separated list of: {', '.join(STATUS_VALUES)}.",
            "pattern": STATUS_LIST,
        }
    )
    include_archived = QueryBool(load_default=False)

    @validates_schema
    def _statuses(self, data, **kwargs):
        if data.get("status"):
            unknown = [s for s in data["status"].split(",") if s.strip() not in STATUS_VALUES]
            if unknown:
                raise ValidationError({"status": [f"Unknown status: {', '.join(unknown)}."]})


class AvailabilityQuery(Schema):
    class Meta:
        unknown = "exclude"

    date = Date(
        validate=DAYS, metadata={"description": "First day, in hospital time; default today."}
    )
    days = Int(strict=False, load_default=1, validate=validate.Range(min=1, max=14))
    duration = Int(
        strict=False,
        validate=validate.Range(min=MIN_MINUTES, max=MAX_MINUTES),
        metadata={"description": "Slot length in minutes; default the doctor's."},
    )


class SlotSchema(Schema):
    start_time = DateTime()
    end_time = DateTime()


class DepartmentSlotSchema(SlotSchema):
    doctor_id = fields.Integer()


class TimeOffSchema(Schema):
    id = fields.Integer(dump_only=True)
    doctor_id = fields.Integer(dump_only=True)
    start_time = DateTime(
        required=True, metadata={"description": "At most 2 years ahead; may lie in the past."}
    )
    end_time = DateTime(required=True, metadata={"description": "After start_time."})
    reason = FreeText()
    created_by = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The user who added it."}
    )
    created_at = DateTime(dump_only=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["end_time"] <= data["start_time"]:
            raise ValidationError({"end_time": ["The end must be after the start."]})


class TimeOffQuery(ListQuery):
    SORTS = {"start_time": TimeOff.start_time}
