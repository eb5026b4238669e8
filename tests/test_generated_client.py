"""A client generated from the committed OpenAPI document runs a front desk's day.

openapi-python-client turns docs/openapi.json into a Python package once per module, and
that package alone talks to a live gunicorn server on a fresh SQLite database: no raw
HTTP anywhere (only the first admin is made straight in the database, as nobody can
register staff without one). What an integrator gets from the document is what is tested,
step by step, and so is what the client cannot check by itself: that the statuses and
headers the desk meets are declared, and that the generated models promise the fields
every answer holds (required, and nullable only where null is answered).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType, SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from flask_migrate import upgrade
from icalendar import Calendar

from meditrack import create_app
from meditrack.extensions import db
from tests.conftest import TEST_CONFIG
from tests.servers import HOST, ROOT, start_servers, stop_servers

pytestmark = [pytest.mark.sqlite_only, pytest.mark.xdist_group("generated_client")]

SPEC = ROOT / "docs" / "openapi.json"
PACKAGE = "meditrack_client"
PASSWORD = "correct horse battery"
GENERATE_SECONDS = 120
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The generator reads only JSON, text and application/octet-stream; an integrator tells it
# that a chart is bytes too.
CONTENT_TYPE_OVERRIDES = {"image/png": "application/octet-stream"}
# Every day of the week, so that any date the tests pick is a working day.
OPENING = [(weekday, "08:00", "16:00") for weekday in range(7)]


# The generated client --------------------------------------------------------------------


@dataclass
class Generated:
    package: ModuleType
    output: str  # what the generator printed

    def module(self, name: str) -> ModuleType:
        """A module of the generated package, e.g. "api.patients.list_patients"."""
        return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Generated:
    """The client generated from the committed document, imported from a temp folder."""
    folder = tmp_path_factory.mktemp("generated")
    # The generator formats its output with ruff, the one pinned in this environment.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    config = folder / "config.json"
    config.write_text(json.dumps({"content_type_overrides": CONTENT_TYPE_OVERRIDES}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    command += ["--path", str(SPEC), "--output-path", str(folder / PACKAGE)]
    command += ["--config", str(config)]
    result = subprocess.run(  # nosec B603: a fixed command line
        command,
        cwd=folder,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=GENERATE_SECONDS,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 or not (folder / PACKAGE / "__init__.py").exists():
        pytest.fail(f"openapi-python-client could not generate a client:\n{output}", pytrace=False)
    sys.path.insert(0, str(folder))
    try:
        yield Generated(importlib.import_module(PACKAGE), output)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


# The server and the people at the desk ------------------------------------------------


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """A gunicorn server on a fresh SQLite database with one admin in it."""
    folder = tmp_path_factory.mktemp("server")
    url = f"sqlite:///{folder / 'meditrack.db'}"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})

    def migrate_and_add_admin():
        from meditrack.auth import service as auth_service
        from meditrack.users.models import Role

        with app.app_context():
            upgrade()
            auth_service.create_user(
                name="Ada Admin", email="admin@example.org", password=PASSWORD, role=Role.ADMIN
            )
            db.session.commit()
            db.engine.dispose()

    settings = {
        "DATABASE_URL": url,
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "MEDITRACK_TIMEZONE": "UTC",
        "LOG_LEVEL": "WARNING",
    }
    servers = start_servers(["desk"], settings, folder, until_ready=migrate_and_add_admin)
    yield f"http://{HOST}:{servers[0].port}"
    stop_servers(servers)


def sign_in(generated: Generated, base_url: str, email: str):
    """A client that carries the access token `login` gives for `email`."""
    client = generated.package.Client(base_url=base_url, raise_on_unexpected_status=True)
    login = generated.module("api.auth.login")
    body = generated.module("models.login").Login(email=email, password=PASSWORD)
    response = login.sync_detailed(client=client, body=body)
    assert response.status_code == 200, response.content
    token = response.parsed.access_token
    return generated.package.AuthenticatedClient(
        base_url=base_url, token=token, raise_on_unexpected_status=True
    )


def created(response):
    """The parsed body of a 201, insisting that it is one."""
    assert response.status_code == 201, response.content
    return response.parsed


@pytest.fixture(scope="module")
def hospital(generated, base_url):
    """What the admin set up before the desk opened, all through the generated client: a
    department, a doctor working every day, a receptionist, three patients named Lindqvist."""
    m = generated.module
    admin = sign_in(generated, base_url, "admin@example.org")
    department = created(
        m("api.departments.create_department").sync_detailed(
            client=admin,
            body=m("models.department_request").DepartmentRequest(name="General Medicine"),
        )
    )
    period = m("models.working_period_request").WorkingPeriodRequest
    doctor = created(
        m("api.doctors.create_doctor").sync_detailed(
            client=admin,
            body=m("models.doctor_request").DoctorRequest(
                first_name="Grace",
                last_name="Okafor",
                email="grace.okafor@example.org",
                specialization="General practice",
                department_id=department.id,
                working_hours=[period(weekday=w, start=s, end=e) for w, s, e in OPENING],
            ),
        )
    )
    created(
        m("api.auth.register_account").sync_detailed(
            client=admin,
            body=m("models.register").Register(
                name="Rita Desk",
                email="rita@example.org",
                password=PASSWORD,
                role=m("models.register_role").RegisterRole.RECEPTIONIST,
            ),
        )
    )
    patients = [
        created(
            m("api.patients.create_patient").sync_detailed(
                client=admin,
                body=new_patient(generated, first_name, "Lindqvist", date(1970 + n, 3, 14)),
            )
        )
        for n, first_name in enumerate(["Astrid", "Bo", "Cecilia"])
    ]
    return SimpleNamespace(department=department, doctor=doctor, patients=patients)


@pytest.fixture(scope="module")
def desk(generated, base_url, hospital):
    """The receptionist, signed in."""
    return sign_in(generated, base_url, "rita@example.org")


def new_patient(generated: Generated, first_name: str, last_name: str, born: date):
    return generated.module("models.patient_request").PatientRequest(
        first_name=first_name, last_name=last_name, date_of_birth=born
    )


def day(offset: int) -> date:
    """A date `offset` weeks and a day ahead: each test books on a day of its own."""
    return datetime.now(UTC).date() + timedelta(days=7 * offset + 1)


def free_slots(generated, desk, doctor_id: int, on: date) -> list:
    availability = generated.module("api.scheduling.get_doctor_availability")
    response = availability.sync_detailed(doctor_id, client=desk, date=on, duration=30)
    assert response.status_code == 200, response.content
    return response.parsed


def booking(generated, patient_id: int, doctor_id: int, start: datetime, reason="Check-up"):
    return generated.module("models.booking").Booking(
        patient_id=patient_id, doctor_id=doctor_id, start_time=start, reason=reason
    )


def book(generated, desk, patient_id: int, doctor_id: int, start: datetime, **headers):
    book_appointment = generated.module("api.appointments.book_appointment")
    body = booking(generated, patient_id, doctor_id, start)
    return book_appointment.sync_detailed(client=desk, body=body, **headers)


def book_first_free_slot(generated, desk, patient_id: int, doctor_id: int, on: date):
    """Book the doctor's first free slot on `on`; the new appointment."""
    start = free_slots(generated, desk, doctor_id, on)[0].start_time
    return created(book(generated, desk, patient_id, doctor_id, start))


def etag_of(generated, desk, appointment_id: int) -> str:
    get_appointment = generated.module("api.appointments.get_appointment")
    return get_appointment.sync_detailed(appointment_id, client=desk).headers["ETag"]


# Generation ------------------------------------------------------------------------------


def test_the_document_generates_a_client_without_warnings(generated):
    """A warning means a part of the document the generator had to leave out."""
    assert "Warning" not in generated.output, generated.output


# What the day meets, declared ------------------------------------------------------------
#
# The generated client keeps every response header in Response.headers, declared or not,
# and parses a status the document leaves out with its `default` answer, so the day below
# cannot tell a declared answer from an undeclared one. These are the statuses and headers
# the desk meets and reads, looked up in the committed document.


def follow(document: dict, node: dict) -> dict:
    """`node` with its $ref (to another part of `document`) followed."""
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def declared_answer(operation_id: str, status: str) -> dict | None:
    """The answer `status` of `operation_id` in the committed document, or None."""
    document = json.loads(SPEC.read_text())
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                answer = operation["responses"].get(status)
                return None if answer is None else follow(document, answer)
    raise AssertionError(f"no operation {operation_id} in {SPEC.name}")


def met(operation_id: str, status: str, header: str | None = None):
    """A status (and a header of it) the desk meets."""
    return pytest.param(operation_id, status, header, id=f"{operation_id}-{status}-{header}")


MET_ON_THE_DAY = [
    met("login", "401"),
    met("list_patients", "200", "X-Total-Count"),
    met("list_patients", "200", "Link"),
    met("create_patient", "201", "Location"),
    met("book_appointment", "201", "Location"),
    met("book_appointment", "201", "Idempotent-Replayed"),
    met("book_appointment", "409"),
    met("get_appointment", "200", "ETag"),
    met("update_appointment", "200", "ETag"),
    met("update_appointment", "412"),
]


@pytest.mark.parametrize(("operation_id", "status", "header"), MET_ON_THE_DAY)
def test_what_the_desk_meets_is_declared(operation_id, status, header):
    answer = declared_answer(operation_id, status)
    assert answer is not None, f"{operation_id} declares no {status}"
    if int(status) >= 400:
        assert "application/problem+json" in answer.get("content", {}), answer
    if header is not None:
        names = {name.lower() for name in answer.get("headers", {})}
        assert header.lower() in names, f"{operation_id} {status} declares only {names}"


# The front desk's day --------------------------------------------------------------------


def test_the_receptionist_signs_in(generated, base_url, hospital):
    m = generated.module
    client = generated.package.Client(base_url=base_url, raise_on_unexpected_status=True)
    body = m("models.login").Login(email="rita@example.org", password=PASSWORD)
    tokens = m("api.auth.login").sync(client=client, body=body)
    assert tokens.token_type == "Bearer"
    assert tokens.user.role == m("models.user_role").UserRole.RECEPTIONIST

    desk = generated.package.AuthenticatedClient(base_url=base_url, token=tokens.access_token)
    account = m("api.auth.get_account").sync(client=desk)
    assert account.email == "rita@example.org"

    wrong = m("models.login").Login(email="rita@example.org", password="not the password")
    refused = m("api.auth.login").sync_detailed(client=client, body=wrong)
    assert refused.status_code == 401
    assert refused.parsed.code == "unauthorized"


def test_a_search_gives_the_total_and_the_next_page_in_its_headers(generated, desk):
    list_patients = generated.module("api.patients.list_patients")
    first = list_patients.sync_detailed(client=desk, q="Lindqvist", per_page=2)
    assert first.status_code == 200, first.content
    assert [patient.last_name for patient in first.parsed] == ["Lindqvist"] * 2
    assert first.headers["X-Total-Count"] == "3"

    link = first.headers["Link"]
    (next_url,) = [part for part in link.split(",") if 'rel="next"' in part]
    query = parse_qs(urlsplit(next_url.split(";")[0].strip(" <>")).query)
    assert query["page"] == ["2"]
    second = list_patients.sync_detailed(
        client=desk,
        q=query["q"][0],
        page=int(query["page"][0]),
        per_page=int(query["per_page"][0]),
    )
    assert second.status_code == 200, second.content
    assert len(second.parsed) == 1
    assert 'rel="next"' not in second.headers.get("Link", "")
    seen = {patient.id for patient in first.parsed + second.parsed}
    assert len(seen) == 3


def test_a_new_patient_is_registered(generated, desk):
    m = generated.module
    body = new_patient(generated, "Dagny", "Sørensen", date(1988, 11, 2))
    patient = created(m("api.patients.create_patient").sync_detailed(client=desk, body=body))
    assert patient.mrn
    assert patient.date_of_birth == date(1988, 11, 2)

    again = m("api.patients.get_patient").sync_detailed(patient.id, client=desk)
    assert again.status_code == 200, again.content
    assert (again.parsed.first_name, again.parsed.last_name) == ("Dagny", "Sørensen")


def test_free_slots_of_a_doctor_fill_the_working_hours(generated, desk, hospital):
    on = day(1)
    slots = free_slots(generated, desk, hospital.doctor.id, on)
    opening = datetime.combine(on, time(8, 0), UTC)
    # 08:00 to 16:00 in slots of 30 minutes, nothing booked yet.
    starts = [opening + timedelta(minutes=30 * n) for n in range(16)]
    assert [slot.start_time for slot in slots] == starts
    assert [slot.end_time for slot in slots] == [start + timedelta(minutes=30) for start in starts]


def test_a_booking_with_an_idempotency_key_replays_the_same_answer(generated, desk, hospital):
    m = generated.module
    patient, doctor = hospital.patients[0], hospital.doctor
    start = free_slots(generated, desk, doctor.id, day(2))[0].start_time
    key = f"desk-{uuid.uuid4().hex}"

    first = book(generated, desk, patient.id, doctor.id, start, idempotency_key=key)
    appointment = created(first)
    assert appointment.start_time == start
    assert "Idempotent-Replayed" not in first.headers

    replay = book(generated, desk, patient.id, doctor.id, start, idempotency_key=key)
    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.parsed.id == appointment.id
    assert replay.headers["Idempotent-Replayed"] == "true"

    listed = m("api.appointments.list_appointments").sync_detailed(
        client=desk, patient_id=patient.id
    )
    assert [row.id for row in listed.parsed] == [appointment.id]
    assert start not in [slot.start_time for slot in free_slots(generated, desk, doctor.id, day(2))]


def test_a_clash_answers_a_typed_409_naming_the_conflict(generated, desk, hospital):
    doctor = hospital.doctor
    first = book_first_free_slot(generated, desk, hospital.patients[0].id, doctor.id, day(3))
    start = first.start_time

    clash = book(generated, desk, hospital.patients[1].id, doctor.id, start)
    assert clash.status_code == 409, clash.content
    problem = clash.parsed
    assert isinstance(problem, generated.module("models.problem").Problem)
    assert problem.code == "appointment_conflict"
    assert problem.status == 409
    (conflict,) = problem.conflicts
    window = conflict.to_dict()
    assert datetime.fromisoformat(window["start_time"]) == start
    assert datetime.fromisoformat(window["end_time"]) == start + timedelta(minutes=30)


def test_a_reschedule_with_if_match_and_a_stale_one_refused(generated, desk, hospital):
    m = generated.module
    doctor = hospital.doctor
    first, later = free_slots(generated, desk, doctor.id, day(4))[:2]
    appointment = created(
        book(generated, desk, hospital.patients[0].id, doctor.id, first.start_time)
    )
    etag = etag_of(generated, desk, appointment.id)

    update_appointment = m("api.appointments.update_appointment")
    move = m("models.appointment_update").AppointmentUpdate(start_time=later.start_time)
    moved = update_appointment.sync_detailed(appointment.id, client=desk, body=move, if_match=etag)
    assert moved.status_code == 200, moved.content
    assert moved.parsed.start_time == later.start_time
    assert moved.headers["ETag"] != etag

    back = m("models.appointment_update").AppointmentUpdate(start_time=first.start_time)
    stale = update_appointment.sync_detailed(appointment.id, client=desk, body=back, if_match=etag)
    assert stale.status_code == 412, stale.content
    assert stale.parsed.code == "precondition_failed"
    now = m("api.appointments.get_appointment").sync(appointment.id, client=desk)
    assert now.start_time == later.start_time


def test_an_unchanged_appointment_reads_as_304(generated, desk, hospital):
    patient, doctor = hospital.patients[0], hospital.doctor
    appointment = book_first_free_slot(generated, desk, patient.id, doctor.id, day(5))
    etag = etag_of(generated, desk, appointment.id)

    get_appointment = generated.module("api.appointments.get_appointment")
    unchanged = get_appointment.sync_detailed(appointment.id, client=desk, if_none_match=etag)
    assert unchanged.status_code == 304
    assert unchanged.parsed is None


def test_a_cancellation_keeps_its_reason(generated, desk, hospital):
    m = generated.module
    doctor = hospital.doctor
    appointment = book_first_free_slot(generated, desk, hospital.patients[2].id, doctor.id, day(6))

    status = m("models.appointment_update_status").AppointmentUpdateStatus.CANCELLED
    cancel = m("models.appointment_update").AppointmentUpdate(
        status=status, cancellation_reason="Patient called: flu"
    )
    cancelled = m("api.appointments.update_appointment").sync_detailed(
        appointment.id, client=desk, body=cancel
    )
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.parsed.status == m("models.appointment_status").AppointmentStatus.CANCELLED
    assert cancelled.parsed.cancellation_reason == "Patient called: flu"
    # The slot is free again: the same start books for somebody else.
    created(book(generated, desk, hospital.patients[1].id, doctor.id, appointment.start_time))


# openapi-python-client reads an answer as the first media type its response declares that
# it knows (JSON, text, octet-stream), whatever Content-Type the server sends: so each
# download is an operation with one media type (GET /reports/<report>.csv and .png).


@pytest.mark.parametrize("report", ["overview", "departments"])
def test_a_report_downloads_as_csv(generated, desk, hospital, report):
    download = generated.module(f"api.reports.download_{report}_csv")
    response = download.sync_detailed(client=desk, from_=day(0), to=day(8))
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"].startswith("text/csv")
    assert isinstance(response.parsed, str)
    rows = list(csv.DictReader(io.StringIO(response.parsed)))
    column, value = {"overview": ("from", day(0).isoformat())}.get(
        report, ("name", "General Medicine")
    )
    assert rows[0][column] == value, rows


def test_a_report_downloads_as_a_png_chart(generated, desk, hospital):
    download = generated.module("api.reports.download_departments_chart")
    response = download.sync_detailed(client=desk, from_=day(0), to=day(8))
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    assert response.parsed.payload.read().startswith(PNG_SIGNATURE)


def test_a_doctors_calendar_reads_as_icalendar(generated, desk, hospital):
    m = generated.module
    doctor = hospital.doctor
    on = day(7)
    booked = book_first_free_slot(generated, desk, hospital.patients[1].id, doctor.id, on)
    # An appointment outside the week asked for, which the feed leaves out.
    book_first_free_slot(generated, desk, hospital.patients[2].id, doctor.id, day(8))

    week = {on + timedelta(days=n) for n in range(7)}
    response = m("api.scheduling.get_doctor_calendar").sync_detailed(
        doctor.id, client=desk, from_=min(week), to=max(week)
    )
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert isinstance(response.parsed, str)
    calendar = Calendar.from_ical(response.parsed)
    assert calendar.name == "VCALENDAR"
    starts = [event.decoded("DTSTART") for event in calendar.walk("VEVENT")]
    assert booked.start_time in starts
    assert {start.date() for start in starts} <= week, starts


# What the models promise ----------------------------------------------------------------
#
# The server sends every field of an answer, null where there is nothing, so a generated
# model should type each field it sends as required (no `| Unset`), and as `| None` where
# it can be null. Problems are the exception: `conflicts` and `errors` come with some codes.


def model_gaps(generated, value, where: str, sometimes: frozenset[str]) -> list[str]:
    """Where the generated model of `value` (an answer the client parsed) promises less
    than the answer held: a field it sent that the model leaves optional, a null it sent
    where the model allows none. Nested models and the first item of a list too."""
    unset = generated.module("types").Unset
    if isinstance(value, list):
        return [gap for item in value[:1] for gap in model_gaps(generated, item, where, sometimes)]
    if not attrs.has(type(value)):
        return []
    gaps = []
    for field in attrs.fields(type(value)):
        held = getattr(value, field.name)
        if not field.init or isinstance(held, unset) or field.name in sometimes:
            continue
        name = f"{where}.{field.name}"
        if field.default is not attrs.NOTHING:
            gaps.append(f"{name} optional")
        if held is None and not {"None", "Any"} & set(str(field.type).replace("|", " ").split()):
            gaps.append(f"{name} not nullable")
        gaps += model_gaps(generated, held, name, sometimes)
    return gaps


@pytest.fixture(scope="module")
def answers(generated, base_url, desk, hospital) -> dict:
    """One parsed answer of each kind the desk reads, by the name of its model."""
    m = generated.module
    doctor, patients = hospital.doctor, hospital.patients
    appointment = book_first_free_slot(generated, desk, patients[0].id, doctor.id, day(9))
    clash = book(generated, desk, patients[1].id, doctor.id, appointment.start_time)
    client = generated.package.Client(base_url=base_url)
    body = m("models.login").Login(email="rita@example.org", password=PASSWORD)
    return {
        "LoginResponse": m("api.auth.login").sync(client=client, body=body),
        "Patient": m("api.patients.list_patients").sync(client=desk, per_page=1),
        "Slot": free_slots(generated, desk, doctor.id, day(9)),
        "Appointment": appointment,
        "Problem": clash.parsed,
    }


ANSWERED_MODELS = ("LoginResponse", "Patient", "Slot", "Appointment", "Problem")
SOMETIMES = {"Problem": frozenset({"conflicts", "errors", "errors_truncated"})}


@pytest.mark.parametrize("model", ANSWERED_MODELS)
def test_the_models_promise_what_every_answer_holds(generated, answers, model):
    gaps = model_gaps(generated, answers[model], model, SOMETIMES.get(model, frozenset()))
    assert not gaps, "\n".join(gaps)
