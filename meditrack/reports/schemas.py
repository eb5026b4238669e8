from marshmallow import ValidationError, validates_schema

from meditrack.core.schemas import Date, QueryId, Schema, fields, validate

FORMATS = ("json", "csv", "png")
MAX_RANGE_DAYS = 366 * 3


class ReportQuery(Schema):
    """`from`/`to` are dates in hospital time, both inclusive; default the last 30 days."""

    class Meta:
        unknown = "exclude"

    start = Date(data_key="from", metadata={"description": "First day (inclusive)."})
    end = Date(data_key="to", metadata={"description": "Last day (inclusive); default today."})
    department_id = QueryId()
    doctor_id = QueryId()
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))

    @validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise ValidationError({"to": ["The range ends before it starts."]})
            if (end - start).days + 1 > MAX_RANGE_DAYS:
                raise ValidationError({"to": ["A report covers at most 3 years."]})


class StatusCountsSchema(Schema):
    total = fields.Integer()
    scheduled = fields.Integer()
    checked_in = fields.Integer()
    completed = fields.Integer()
    cancelled = fields.Integer()
    no_show = fields.Integer()


Rate = lambda **kw: fields.Float(allow_none=True, **kw)  # noqa: E731


class OverviewSchema(Schema):
    start = fields.Date(data_key="from", attribute="from")
    end = fields.Date(data_key="to", attribute="to")
    patients_total = fields.Integer()
    patients_new = fields.Integer()
    doctors_active = fields.Integer()
    departments = fields.Integer()
    appointments = fields.Nested(StatusCountsSchema)
    no_show_rate = Rate()
    cancellation_rate = Rate()
    utilization = Rate()
    avg_lead_time_days = fields.Float(allow_none=True)


def _workload_fields() -> dict:
    return {
        "appointments": fields.Integer(),
        "completed": fields.Integer(),
        "cancelled": fields.Integer(),
        "no_show": fields.Integer(),
        "no_show_rate": Rate(),
        "booked_minutes": fields.Integer(),
        "available_minutes": fields.Integer(),
        "utilization": Rate(),
    }


DepartmentRowSchema = Schema.from_dict(
    {
        "department_id": fields.Integer(),
        "name": fields.String(),
        "doctors": fields.Integer(),
        "patients": fields.Integer(),
        **_workload_fields(),
    },
    name="DepartmentRowSchema",
)

_doctor_fields = {
    "doctor_id": fields.Integer(),
    "name": fields.String(),
    "department_id": fields.Integer(),
    **_workload_fields(),
}
_doctor_fields["unique_patients"] = fields.Integer()
# The contract lists unique_patients after no_show_rate.
DoctorRowSchema = Schema.from_dict(
    {
        key: _doctor_fields[key]
        for key in (
            "doctor_id",
            "name",
            "department_id",
            "appointments",
            "completed",
            "cancelled",
            "no_show",
            "no_show_rate",
            "unique_patients",
            "booked_minutes",
            "available_minutes",
            "utilization",
        )
    },
    name="DoctorRowSchema",
)


class DailyRowSchema(Schema):
    date = fields.Date()
    total = fields.Integer()
    scheduled = fields.Integer()
    checked_in = fields.Integer()
    completed = fields.Integer()
    cancelled = fields.Integer()
    no_show = fields.Integer()


class DemographicsRowSchema(Schema):
    age_band = fields.String()
    female = fields.Integer()
    male = fields.Integer()
    other = fields.Integer()
    unknown = fields.Integer()
    total = fields.Integer()
