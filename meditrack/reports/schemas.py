from datetime import date, timedelta

from marshmallow import ValidationError, post_load

from meditrack.core import timeutil
from meditrack.core.schemas import Date, QueryId, Schema, fields, validate

FORMATS = ("json", "csv", "png")
DEFAULT_DAYS = 30
MAX_YEARS = 3


class ReportQuery(Schema):
    """`from`/`to` are dates in hospital time, both inclusive; default the last 30 days."""

    class Meta:
        unknown = "exclude"

    start = Date(data_key="from", metadata={"description": "First day (inclusive)."})
    end = Date(data_key="to", metadata={"description": "Last day (inclusive); default today."})
    department_id = QueryId()
    doctor_id = QueryId()
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))

    @post_load
    def _range(self, data, **kwargs):
        """The range with its defaults filled in (`to` today, `from` 29 days before `to`),
        checked as a whole: an error names the end the caller sent."""
        end = data.get("end") or timeutil.today()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        field = "to" if data.get("end") else "from"
        if end < start:
            raise ValidationError({field: ["The range ends before it starts."]})
        if end >= _years_after(start, MAX_YEARS):
            raise ValidationError({field: [f"A report covers at most {MAX_YEARS} years."]})
        return {**data, "start": start, "end": end}


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the range may run to 28 February
        return date(day.year + years, 3, 1)


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
