from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
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
from meditrack.reports.scope import Scope, covered

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    description="Figures for managers: JSON, CSV (format=csv) or a PNG chart "
    "(format=png, where the report has one).",
)


CSV = {"text/csv": {"schema": {"type": "string"}}}
PNG = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
DOWNLOAD_HEADERS = {"Content-Disposition": "ContentDisposition"}
CHART_HEADERS = {**DOWNLOAD_HEADERS, "X-Chart-Bucket": "ChartBucket"}


@dataclass(frozen=True)
class Report:
    """One report: where it is, what computes it, how its rows are written, and its chart.
    Each answers JSON at its path (CSV or PNG by `format`), and a CSV download at
    `<path>.csv` and, when it has a chart, a PNG at `<path>.png`: one media type per
    operation, which is what a generated client can download."""

    path: str  # under /reports, e.g. "appointments/daily"
    operation: str  # the operationIds' stem, e.g. "appointments_daily"
    scope: str  # the report's name for scope.covered (who may see which rows)
    compute: Callable[[Scope], Any]
    schema: ma.Schema
    chart: Callable | None
    summary: str
    description: str


def _answer(name: str, scope: Scope, data, schema, fmt: str, chart: Callable | None) -> Response:
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


def _register(report: Report) -> None:
    def answer(args, fmt: str) -> Response:
        scope = covered(actor=current_actor(), args=args, report=report.scope)
        data = report.compute(scope)
        return _answer(report.path, scope, data, report.schema, fmt, report.chart)

    def view(args):
        return answer(args, args["format"])

    # CSV and PNG answers write an audit event: on SQLite such a GET takes the write lock
    # up front (meditrack/core/sqlite.py); a JSON answer stays a plain read.
    view.audited = lambda: request.args.get("format", "json") != "json"
    content = {"application/json": {"schema": report.schema}, **CSV}
    if report.chart:
        content.update(PNG)
    formats_doc = "JSON, `format=csv`" + (" or `format=png`" if report.chart else "")
    _route(
        view,
        f"/{report.path}",
        f"report_{report.operation}",
        ReportQuery,
        report.summary,
        f"{report.description} Answers {formats_doc}.",
        content,
        CHART_HEADERS if report.chart else DOWNLOAD_HEADERS,
    )

    def download_csv(args):
        return answer(args, "csv")

    download_csv.audited = True
    _route(
        download_csv,
        f"/{report.path}.csv",
        f"download_{report.operation}_csv",
        DownloadQuery,
        f"{report.summary.rstrip('.')}, as CSV.",
        f"{report.description} The same rows as `format=csv`; the download is an audit event.",
        CSV,
        DOWNLOAD_HEADERS,
    )
    if report.chart is None:
        return

    def download_chart(args):
        return answer(args, "png")

    download_chart.audited = True
    _route(
        download_chart,
        f"/{report.path}.png",
        f"download_{report.operation}_chart",
        DownloadQuery,
        f"{report.summary.rstrip('.')}, as a PNG chart.",
        f"{report.description} The same chart as `format=png`; the download is an audit event.",
        PNG,
        CHART_HEADERS,
    )


def _route(view, rule, name, query, summary, description, content, headers) -> None:
    view.__name__ = view.__qualname__ = name
    view.__doc__ = f"{summary}\n\n{description}"
    documented = blp.doc(
        responses={"200": {"description": "The report.", "content": content, "headers": headers}}
    )(view)
    blp.get(rule)(blp.arguments(query, location="query")(documented))


DownloadQuery = ReportQuery(exclude=("format",))

REPORTS = (
    Report(
        path="overview",
        operation="overview",
        scope="overview",
        compute=service.overview,
        schema=OverviewSchema(),
        chart=None,
        summary="Hospital-wide figures for the range (staff).",
        description="Patients, doctors, appointments by status and utilization over from/to.",
    ),
    Report(
        path="departments",
        operation="departments",
        scope="departments",
        compute=service.departments,
        schema=DepartmentRowSchema(many=True),
        chart=lambda rows, first, last: formats.utilization_chart(rows, "Department", first, last),
        summary="Workload and utilization per department (staff).",
        description="Appointments by status, booked and available minutes and utilization "
        "per department over from/to.",
    ),
    Report(
        path="doctors",
        operation="doctors",
        scope="doctors",
        compute=service.doctors,
        schema=DoctorRowSchema(many=True),
        chart=lambda rows, first, last: formats.utilization_chart(rows, "Doctor", first, last),
        summary="Workload and utilization per doctor (staff; a doctor sees their own row).",
        description="Appointments by status, booked and available minutes and utilization "
        "per doctor over from/to. A doctor sees only their own row.",
    ),
    Report(
        path="appointments/daily",
        operation="appointments_daily",
        scope="daily",
        compute=service.daily,
        schema=DailyRowSchema(many=True),
        chart=formats.daily_chart,
        summary="Appointments per day by status, zeros included (staff; a doctor sees their own).",
        description="One row per day. The chart draws days up to 92 days, weeks up to 731 "
        "and months beyond; X-Chart-Bucket says which.",
    ),
    Report(
        path="patients/demographics",
        operation="patient_demographics",
        scope="demographics",
        compute=service.demographics,
        schema=DemographicsRowSchema(many=True),
        chart=formats.demographics_chart,
        summary="Active patients by age band and gender, age on the `to` date (staff).",
        description="Active patients by age band and gender, their age counted on the to date.",
    ),
)

for _report in REPORTS:
    _register(_report)
