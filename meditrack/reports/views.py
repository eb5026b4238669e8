from collections.abc import Callable

from flask import Response, jsonify, request

from meditrack.audit import service as audit
from meditrack.audit.models import Action
from meditrack.core.api import Blueprint
from meditrack.core.errors import FieldError
from meditrack.permissions import current_actor
from meditrack.reports import formats, service
from meditrack.reports.schemas import (
    DailyRowSchema,
    DemographicsRowSchema,
    DepartmentRowSchema,
    DoctorRowSchema,
    OverviewSchema,
    ReportQuery,
)

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    description="Figures for managers: JSON, CSV (format=csv) or a PNG chart "
    "(format=png, where the report has one).",
)


def exports(view):
    """CSV and PNG answers write an audit event: on SQLite such a GET takes the write lock
    up front (see meditrack/core/sqlite.py); a JSON answer stays a plain read."""
    view.audited = lambda: request.args.get("format", "json") != "json"
    return view


def _doc(schema, charted: bool) -> dict:
    content = {
        "application/json": {"schema": schema},
        "text/csv": {"schema": {"type": "string"}},
    }
    headers = {"Content-Disposition": "ContentDisposition"}
    if charted:
        content["image/png"] = {"schema": {"type": "string", "format": "binary"}}
        headers["X-Chart-Bucket"] = "ChartBucket"
    return {
        "responses": {"200": {"description": "The report.", "content": content, "headers": headers}}
    }


def _answer(
    name: str, scope: service.Scope, data, schema, fmt: str, chart: Callable | None
) -> Response:
    window = scope.window
    if fmt == "json":
        return jsonify(schema.dump(data))
    if fmt == "png" and chart is None:
        raise FieldError("format", f"The {name} report has no chart; use json or csv.")
    audit.record(Action.EXPORT, "report")
    stem = f"meditrack-{name.replace('/', '-')}-{window.first}-to-{window.last}"
    if fmt == "csv":
        rows = data if isinstance(data, list) else [data]
        body = formats.to_csv(schema.dump(rows, many=True), formats.columns(schema))
        mimetype = "text/csv"
    else:
        drawn = chart(data, window.first, window.last)
        body, mimetype = drawn.body, "image/png"
    response = Response(body, mimetype=mimetype)
    if fmt == "png" and drawn.bucket:
        response.headers["X-Chart-Bucket"] = drawn.bucket
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


@blp.get("/overview")
@exports
@blp.arguments(ReportQuery, location="query")
@blp.doc(**_doc(OverviewSchema, charted=False))
def report_overview(args):
    """Hospital-wide figures for the range (staff).

    JSON or format=csv: patients, doctors, appointments by status and utilization over
    from/to.
    """
    scope = service.scope(actor=current_actor(), args=args, report="overview")
    return _answer(
        "overview", scope, service.overview(scope), OverviewSchema(), args["format"], None
    )


@blp.get("/departments")
@exports
@blp.arguments(ReportQuery, location="query")
@blp.doc(**_doc(DepartmentRowSchema(many=True), charted=True))
def report_departments(args):
    """Workload and utilization per department (staff).

    JSON rows, format=csv or format=png: appointments by status, booked and available
    minutes and utilization per department over from/to.
    """
    scope = service.scope(actor=current_actor(), args=args, report="departments")
    return _answer(
        "departments",
        scope,
        service.departments(scope),
        DepartmentRowSchema(many=True),
        args["format"],
        lambda rows, first, last: formats.utilization_chart(rows, "Department", first, last),
    )


@blp.get("/doctors")
@exports
@blp.arguments(ReportQuery, location="query")
@blp.doc(**_doc(DoctorRowSchema(many=True), charted=True))
def report_doctors(args):
    """Workload and utilization per doctor (staff; a doctor sees their own row).

    JSON rows, format=csv or format=png: workload and utilization per doctor over from/to. A
    doctor sees only their own row.
    """
    scope = service.scope(actor=current_actor(), args=args, report="doctors")
    return _answer(
        "doctors",
        scope,
        service.doctors(scope),
        DoctorRowSchema(many=True),
        args["format"],
        lambda rows, first, last: formats.utilization_chart(rows, "Doctor", first, last),
    )


@blp.get("/appointments/daily")
@exports
@blp.arguments(ReportQuery, location="query")
@blp.doc(**_doc(DailyRowSchema(many=True), charted=True))
def report_appointments_daily(args):
    """Appointments per day by status, zeros included (staff; a doctor sees their own).

    JSON rows, or format=csv, or format=png for a chart (days up to 92 days, weeks up to
    731, months beyond; X-Chart-Bucket says which). A CSV or PNG download is an audit event.
    """
    scope = service.scope(actor=current_actor(), args=args, report="daily")
    return _answer(
        "appointments/daily",
        scope,
        service.daily(scope),
        DailyRowSchema(many=True),
        args["format"],
        formats.daily_chart,
    )


@blp.get("/patients/demographics")
@exports
@blp.arguments(ReportQuery, location="query")
@blp.doc(**_doc(DemographicsRowSchema(many=True), charted=True))
def report_patient_demographics(args):
    """Active patients by age band and gender, age on the `to` date (staff).

    JSON rows, format=csv or format=png: active patients by age band and gender, age counted
    on the to date.
    """
    scope = service.scope(actor=current_actor(), args=args, report="demographics")
    return _answer(
        "patients/demographics",
        scope,
        service.demographics(scope),
        DemographicsRowSchema(many=True),
        args["format"],
        formats.demographics_chart,
    )
