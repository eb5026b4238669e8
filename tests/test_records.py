"""Medical records over HTTP: who may do what, validation, lists, archiving, ETags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from meditrack.appointments.models import Appointment
from meditrack.extensions import db
from meditrack.records.models import MedicalRecord
from tests.api_helpers import assert_problem, ids, link_pages
from tests.conftest import Account, count_rows

FIELDS = {
    "id",
    "patient_id",
    "doctor_id",
    "appointment_id",
    "record_date",
    "diagnosis",
    "treatment",
    "notes",
    "created_by",
    "created_at",
    "updated_at",
}
ROLES = (
    "admin",
    "receptionist",
    "author",  # the doctor who wrote the record, in scope
    "colleague",  # another doctor in scope, not the author
    "outsider",  # a doctor without an appointment with the patient
    "patient",  # the patient the record is about
    "other_patient",
)
MISSING = 987_654


def by_role(**statuses: int) -> dict[str, int]:
    assert statuses.keys() == set(ROLES)
    return statuses


LIST_OR_READ = by_role(
    admin=200,
    receptionist=403,
    author=200,
    colleague=200,
    outsider=404,
    patient=200,
    other_patient=404,
)
CREATE = by_role(
    admin=403,
    receptionist=403,
    author=201,
    colleague=201,
    outsider=404,
    patient=403,
    other_patient=403,
)
UPDATE = by_role(
    admin=403,
    receptionist=403,
    author=200,
    colleague=403,
    outsider=404,
    patient=403,
    other_patient=404,
)
ARCHIVE = by_role(
    admin=204,
    receptionist=403,
    author=204,
    colleague=403,
    outsider=404,
    patient=403,
    other_patient=404,
)
RESTORE = {role: 200 if role == "admin" else 403 for role in ROLES}
CODES = {403: "forbidden", 404: "not_found"}


@dataclass
class World:
    accounts: dict[str, Account]
    doctors: dict[str, dict]  # author, colleague, outsider
    patient: dict
    other_patient: dict
    appointment_id: int  # the patient's appointment with the author
    record: dict  # written by the author about the patient


def linked_doctor(make_account, factory) -> tuple[Account, dict]:
    account = make_account("doctor")
    return account, factory.doctor(user_id=account.id)


def linked_patient(make_account, factory) -> tuple[Account, dict]:
    account = make_account("patient")
    return account, factory.patient(user_id=account.id)


@pytest.fixture
def world(client, admin, receptionist, make_account, factory) -> World:
    accounts = {"admin": admin, "receptionist": receptionist}
    doctors = {}
    for role in ("author", "colleague", "outsider"):
        accounts[role], doctors[role] = linked_doctor(make_account, factory)
    accounts["patient"], patient = linked_patient(make_account, factory)
    accounts["other_patient"], other_patient = linked_patient(make_account, factory)
    appointment_id = factory.appointment(
        patient_id=patient["id"], doctor_id=doctors["author"]["id"]
    )
    factory.appointment(patient_id=patient["id"], doctor_id=doctors["colleague"]["id"])
    # the outsider and the colleague both see the other patient; the author does not
    for role in ("outsider", "colleague"):
        factory.appointment(patient_id=other_patient["id"], doctor_id=doctors[role]["id"])
    response = create(
        client,
        accounts["author"],
        patient["id"],
        diagnosis="Hypertension",
        treatment="Lisinopril 10 mg",
        notes="Review in 3 months.",
    )
    assert response.status_code == 201, response.get_json()
    return World(accounts, doctors, patient, other_patient, appointment_id, response.get_json())


# --- helpers --------------------------------------------------------------------------


def create(client, account, patient_id, /, **body):
    return client.post(f"/patients/{patient_id}/records", json=body, headers=account.headers)


def listed(client, account, patient_id, **query):
    return client.get(
        f"/patients/{patient_id}/records", query_string=query, headers=account.headers
    )


def read(client, account, record_id, **query):
    return client.get(f"/records/{record_id}", query_string=query, headers=account.headers)


def change(client, account, record_id, body, method="PATCH", **headers):
    return client.open(
        f"/records/{record_id}",
        method=method,
        json=body,
        headers={**account.headers, **headers},
    )


def archive(client, account, record_id, **headers):
    return client.delete(f"/records/{record_id}", headers={**account.headers, **headers})


def restore(client, account, record_id):
    return client.post(f"/records/{record_id}/restore", headers=account.headers)


def row(app, record_id: int) -> dict | None:
    """The record as the database holds it, every column."""
    with app.app_context():
        record = db.session.get(MedicalRecord, record_id)
        if record is None:
            return None
        return {column.key: getattr(record, column.key) for column in MedicalRecord.__table__.c}


def all_rows(app) -> list[dict]:
    with app.app_context():
        ids_ = db.session.scalars(select(MedicalRecord.id).order_by(MedicalRecord.id)).all()
    return [row(app, record_id) for record_id in ids_]


def assert_refused(response, status: int) -> None:
    assert_problem(response, status, CODES[status])


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


# --- every role, every action ---------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_by_role(client, app, world, role):
    before = all_rows(app)
    response = listed(client, world.accounts[role], world.patient["id"])

    if LIST_OR_READ[role] == 200:
        assert ids(response) == [world.record["id"]]
        assert response.get_json() == [world.record]
        assert response.headers["X-Total-Count"] == "1"
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert_refused(response, LIST_OR_READ[role])
    assert all_rows(app) == before


@pytest.mark.parametrize("role", ROLES)
def test_read_by_role(client, app, world, role):
    before = all_rows(app)
    response = read(client, world.accounts[role], world.record["id"])

    if LIST_OR_READ[role] == 200:
        assert response.status_code == 200
        assert response.get_json() == world.record
        assert response.headers["ETag"]
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert_refused(response, LIST_OR_READ[role])
    assert all_rows(app) == before


@pytest.mark.parametrize("role", ROLES)
def test_create_by_role(client, app, world, role):
    account = world.accounts[role]
    before = all_rows(app)
    response = create(client, account, world.patient["id"], diagnosis="Asthma", notes="Inhaler")

    if CREATE[role] == 201:
        body = response.get_json()
        assert response.status_code == 201, body
        assert body.keys() == FIELDS
        assert body["patient_id"] == world.patient["id"]
        assert body["doctor_id"] == world.doctors[role]["id"]
        assert body["created_by"] == account.id
        assert (body["diagnosis"], body["treatment"], body["notes"]) == ("Asthma", None, "Inhaler")
        assert body["appointment_id"] is None
        stored = row(app, body["id"])
        assert stored["doctor_id"] == world.doctors[role]["id"]
        assert stored["created_by"] == account.id
        assert stored["archived_at"] is None
        assert all_rows(app) == [*before, stored]
    else:
        assert_refused(response, CREATE[role])
        assert all_rows(app) == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("role", ROLES)
def test_update_by_role(client, app, world, role, method):
    record_id = world.record["id"]
    before = row(app, record_id)
    others = [r for r in all_rows(app) if r["id"] != record_id]
    response = change(client, world.accounts[role], record_id, {"diagnosis": "Migraine"}, method)

    if UPDATE[role] == 200:
        body = response.get_json()
        assert response.status_code == 200, body
        # only the field sent changes
        assert body == {**world.record, "diagnosis": "Migraine", "updated_at": body["updated_at"]}
        assert body["updated_at"] >= world.record["updated_at"]
        after = row(app, record_id)
        assert after["diagnosis"] == "Migraine"
        assert after["updated_at"] > before["updated_at"]
        assert {**after, "diagnosis": None, "updated_at": None} == {
            **before,
            "diagnosis": None,
            "updated_at": None,
        }
    else:
        assert_refused(response, UPDATE[role])
        assert row(app, record_id) == before
    assert [r for r in all_rows(app) if r["id"] != record_id] == others


@pytest.mark.parametrize("role", ROLES)
def test_archive_by_role(client, app, world, role):
    record_id = world.record["id"]
    before = row(app, record_id)
    response = archive(client, world.accounts[role], record_id)

    if ARCHIVE[role] == 204:
        assert response.status_code == 204
        assert response.get_data() == b""
        assert row(app, record_id)["archived_at"] is not None
        assert count_rows(app, "medical_records") == 1  # nothing is lost
        assert_refused(read(client, world.accounts["author"], record_id), 404)
        assert ids(listed(client, world.accounts["admin"], world.patient["id"])) == []
    else:
        assert_refused(response, ARCHIVE[role])
        assert row(app, record_id) == before
        assert read(client, world.accounts["author"], record_id).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_restore_by_role(client, app, world, role):
    record_id = world.record["id"]
    assert archive(client, world.accounts["admin"], record_id).status_code == 204
    before = row(app, record_id)
    response = restore(client, world.accounts[role], record_id)

    if RESTORE[role] == 200:
        body = response.get_json()
        assert response.status_code == 200, body
        assert {**body, "updated_at": None} == {**world.record, "updated_at": None}
        assert row(app, record_id)["archived_at"] is None
        assert read(client, world.accounts["author"], record_id).get_json()["id"] == record_id
        assert ids(listed(client, world.accounts["patient"], world.patient["id"])) == [record_id]
    else:
        assert_refused(response, RESTORE[role])
        assert row(app, record_id) == before
        assert_refused(read(client, world.accounts["author"], record_id), 404)


ROUTES_BY_ID = [
    ("GET", "/patients/{patient}/records", None),
    ("POST", "/patients/{patient}/records", {"diagnosis": "Flu"}),
    ("GET", "/records/{record}", None),
    ("PUT", "/records/{record}", {"diagnosis": "Flu"}),
    ("PATCH", "/records/{record}", {"diagnosis": "Flu"}),
    ("DELETE", "/records/{record}", None),
    ("POST", "/records/{record}/restore", None),
]


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "missing"])
@pytest.mark.parametrize(("method", "path", "body"), ROUTES_BY_ID, ids=lambda v: str(v))
def test_receptionists_are_refused_every_route(client, app, world, method, path, body, exists):
    """403 whether or not the record (or patient) exists: nothing is learnt."""
    if exists:
        url = path.format(patient=world.patient["id"], record=world.record["id"])
    else:
        url = path.format(patient=MISSING, record=MISSING)
    before = all_rows(app)
    response = client.open(
        url, method=method, json=body, headers=world.accounts["receptionist"].headers
    )
    assert_refused(response, 403)
    assert all_rows(app) == before


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("admin", "GET", "/patients/{patient}/records", None),
        ("admin", "GET", "/records/{record}", None),
        ("admin", "DELETE", "/records/{record}", None),
        ("admin", "POST", "/records/{record}/restore", None),
        ("author", "POST", "/patients/{patient}/records", {"diagnosis": "Flu"}),
        ("author", "GET", "/records/{record}", None),
        ("author", "PUT", "/records/{record}", {"diagnosis": "Flu"}),
        ("author", "PATCH", "/records/{record}", {"diagnosis": "Flu"}),
        ("author", "DELETE", "/records/{record}", None),
        ("patient", "GET", "/records/{record}", None),
    ],
)
def test_ids_that_do_not_exist_are_404(client, app, world, role, method, path, body):
    before = all_rows(app)
    url = path.format(patient=MISSING, record=MISSING)
    response = client.open(url, method=method, json=body, headers=world.accounts[role].headers)
    assert_refused(response, 404)
    assert all_rows(app) == before


def test_a_doctor_outside_the_scope_cannot_write_for_the_patient(client, app, world):
    outsider = world.accounts["outsider"]
    assert_refused(create(client, outsider, world.patient["id"], diagnosis="Flu"), 404)
    # the same doctor writes for a patient of theirs
    response = create(client, outsider, world.other_patient["id"], diagnosis="Flu")
    assert response.status_code == 201
    assert response.get_json()["patient_id"] == world.other_patient["id"]
    assert count_rows(app, "medical_records") == 2


def test_a_patient_sees_only_their_own_records(client, world):
    colleague = world.accounts["colleague"]
    theirs = create(client, colleague, world.other_patient["id"], diagnosis="Gout").get_json()
    mine = create(client, colleague, world.patient["id"], diagnosis="Flu").get_json()

    me = world.accounts["patient"]
    assert sorted(ids(listed(client, me, world.patient["id"]))) == sorted(
        [world.record["id"], mine["id"]]
    )
    assert_refused(read(client, me, theirs["id"]), 404)
    assert ids(listed(client, world.accounts["other_patient"], world.other_patient["id"])) == [
        theirs["id"]
    ]


def test_every_doctor_in_scope_reads_every_record_of_the_patient(client, world):
    by_colleague = create(client, world.accounts["colleague"], world.patient["id"], diagnosis="Flu")
    record_id = by_colleague.get_json()["id"]
    author = world.accounts["author"]
    assert read(client, author, record_id).status_code == 200
    assert sorted(ids(listed(client, author, world.patient["id"]))) == sorted(
        [world.record["id"], record_id]
    )
    # ... but edits and archives only their own
    assert_refused(change(client, author, record_id, {"notes": "x"}), 403)
    assert_refused(archive(client, author, record_id), 403)


# --- the scope follows appointments ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "days"),
    [
        ("scheduled", 2),
        ("scheduled", -2),
        ("checked_in", -1),
        ("completed", -3),
        ("no_show", -4),
    ],
)
def test_any_appointment_puts_the_patient_in_scope(
    client, app, world, factory, make_account, status, days
):
    """Whatever became of the appointment, short of its cancellation (below), the doctor
    keeps sight of the patient's records."""
    account, doctor = linked_doctor(make_account, factory)
    factory.appointment(
        patient_id=world.patient["id"],
        doctor_id=doctor["id"],
        start=datetime.now(UTC) + timedelta(days=days),
        status=status,
    )

    assert ids(listed(client, account, world.patient["id"])) == [world.record["id"]]
    assert read(client, account, world.record["id"]).status_code == 200
    response = create(client, account, world.patient["id"], diagnosis="Sprain")
    assert response.status_code == 201
    assert row(app, response.get_json()["id"])["doctor_id"] == doctor["id"]


def test_cancelling_the_only_appointment_ends_the_doctors_scope(
    client, app, world, admin, factory, make_account
):
    """A cancelled appointment grants nothing (else book, cancel, next: every patient)."""
    account, doctor = linked_doctor(make_account, factory)
    appointment_id = factory.appointment(patient_id=world.patient["id"], doctor_id=doctor["id"])
    cancelled = client.patch(
        f"/appointments/{appointment_id}",
        json={"status": "cancelled", "cancellation_reason": "Feeling better"},
        headers=admin.headers,
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).status == "cancelled"

    assert_refused(listed(client, account, world.patient["id"]), 404)
    assert_refused(read(client, account, world.record["id"]), 404)


def test_an_archived_appointment_does_not_put_the_patient_in_scope(
    client, app, world, factory, make_account
):
    account, doctor = linked_doctor(make_account, factory)
    appointment_id = factory.appointment(patient_id=world.patient["id"], doctor_id=doctor["id"])
    assert listed(client, account, world.patient["id"]).status_code == 200
    with app.app_context():
        db.session.execute(
            update(Appointment)
            .where(Appointment.id == appointment_id)
            .values(archived_at=datetime.now(UTC))
        )
        db.session.commit()

    assert_refused(listed(client, account, world.patient["id"]), 404)
    assert_refused(read(client, account, world.record["id"]), 404)
    assert_refused(create(client, account, world.patient["id"], diagnosis="Flu"), 404)
    assert count_rows(app, "medical_records") == 1


def test_a_doctor_account_without_a_doctor_record_writes_nothing(client, app, world, make_account):
    account = make_account("doctor")
    assert_refused(listed(client, account, world.patient["id"]), 404)
    assert_refused(read(client, account, world.record["id"]), 404)
    assert_refused(create(client, account, world.patient["id"], diagnosis="Flu"), 403)
    assert count_rows(app, "medical_records") == 1


# --- record_date ----------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Etc/GMT-14", "UTC", "Etc/GMT+12"])
def test_record_date_defaults_to_today_in_hospital_time(client, app, world, monkeypatch, zone):
    """UTC+14 and UTC-12 never share a calendar day, so this tells hospital time apart."""
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", ZoneInfo(zone))
    author = world.accounts["author"]

    first = today_in(zone)
    response = create(client, author, world.patient["id"], diagnosis="Flu")
    last = today_in(zone)

    assert response.status_code == 201
    assert response.get_json()["record_date"] in {first.isoformat(), last.isoformat()}
    assert row(app, response.get_json()["id"])["record_date"] in {first, last}


@pytest.mark.parametrize("zone", ["Etc/GMT-14", "UTC", "Etc/GMT+12"])
def test_record_date_may_be_today_but_not_tomorrow_in_hospital_time(
    client, app, world, monkeypatch, zone
):
    monkeypatch.setitem(app.config, "HOSPITAL_TZ", ZoneInfo(zone))
    author = world.accounts["author"]
    today = today_in(zone)
    before = all_rows(app)

    future = create(
        client,
        author,
        world.patient["id"],
        diagnosis="Flu",
        record_date=str(today + timedelta(days=1)),
    )
    assert_problem(future, 422, "validation_error", "record_date")
    assert all_rows(app) == before

    patched = change(
        client, author, world.record["id"], {"record_date": str(today + timedelta(days=1))}
    )
    assert_problem(patched, 422, "validation_error", "record_date")
    assert all_rows(app) == before

    response = create(client, author, world.patient["id"], diagnosis="Flu", record_date=str(today))
    assert response.status_code == 201, response.get_json()
    assert row(app, response.get_json()["id"])["record_date"] == today


def test_a_tomorrow_record_date_is_refused(client, app, world):
    tomorrow = today_in("UTC") + timedelta(days=1)
    response = create(
        client,
        world.accounts["author"],
        world.patient["id"],
        diagnosis="Flu",
        record_date=str(tomorrow),
    )
    body = assert_problem(response, 422, "validation_error", "record_date")
    assert body["errors"].keys() == {"record_date"}
    assert count_rows(app, "medical_records") == 1


def test_a_past_record_date_is_stored(client, app, world):
    response = create(
        client,
        world.accounts["author"],
        world.patient["id"],
        diagnosis="Flu",
        record_date="2019-02-28",
    )
    assert response.status_code == 201
    assert response.get_json()["record_date"] == "2019-02-28"
    assert row(app, response.get_json()["id"])["record_date"] == date(2019, 2, 28)


@pytest.mark.parametrize(
    "value", ["2023-02-30", "yesterday", "2023-01-01T00:00:00", "01/02/2023", 20230101, None, ""]
)
def test_malformed_record_dates_are_422(client, app, world, value):
    author = world.accounts["author"]
    before = all_rows(app)
    response = create(client, author, world.patient["id"], diagnosis="Flu", record_date=value)
    assert_problem(response, 422, "validation_error", "record_date")
    response = change(client, author, world.record["id"], {"record_date": value})
    assert_problem(response, 422, "validation_error", "record_date")
    assert all_rows(app) == before


# --- text fields ----------------------------------------------------------------------


def test_diagnosis_is_required(client, app, world):
    response = create(client, world.accounts["author"], world.patient["id"], treatment="Rest")
    assert_problem(response, 422, "validation_error", "diagnosis")
    assert count_rows(app, "medical_records") == 1


@pytest.mark.parametrize("value", ["", " ", "   \t ", "\n\n", None, 42, ["Flu"]], ids=repr)
def test_an_empty_or_non_text_diagnosis_is_422(client, app, world, value):
    author = world.accounts["author"]
    before = all_rows(app)
    response = create(client, author, world.patient["id"], diagnosis=value)
    assert_problem(response, 422, "validation_error", "diagnosis")
    for method in ("PUT", "PATCH"):
        response = change(client, author, world.record["id"], {"diagnosis": value}, method)
        assert_problem(response, 422, "validation_error", "diagnosis")
    assert all_rows(app) == before


@pytest.mark.parametrize("field", ["diagnosis", "treatment", "notes"])
@pytest.mark.parametrize(
    "value",
    [
        "nul\x00byte",
        "bell\x07",
        "escape\x1b[31m",
        "delete\x7f",
        "back\x08space",
        "cr\rlf",
        "x" * 10_001,
    ],
    ids=["nul", "bell", "escape", "delete", "backspace", "carriage-return", "10001-chars"],
)
def test_control_characters_and_overlong_text_are_422(client, app, world, field, value):
    author = world.accounts["author"]
    before = all_rows(app)
    response = create(client, author, world.patient["id"], **{"diagnosis": "Flu", field: value})
    assert_problem(response, 422, "validation_error", field)
    response = change(client, author, world.record["id"], {field: value})
    assert_problem(response, 422, "validation_error", field)
    assert all_rows(app) == before


@pytest.mark.parametrize("field", ["diagnosis", "treatment", "notes"])
def test_newlines_tabs_and_ten_thousand_characters_are_kept(client, app, world, field):
    author = world.accounts["author"]
    multiline = "Line one\n\tindented line two\nline three"
    response = create(client, author, world.patient["id"], **{"diagnosis": "Flu", field: multiline})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[field] == multiline
    assert row(app, response.get_json()["id"])[field] == multiline

    longest = "y" * 10_000
    response = change(client, author, world.record["id"], {field: longest})
    assert response.status_code == 200, response.get_json()
    assert row(app, world.record["id"])[field] == longest


def test_surrounding_white_space_is_trimmed(client, app, world):
    response = create(
        client,
        world.accounts["author"],
        world.patient["id"],
        diagnosis="  Flu \n",
        notes="\tRest  ",
    )
    assert response.status_code == 201
    stored = row(app, response.get_json()["id"])
    assert (stored["diagnosis"], stored["notes"]) == ("Flu", "Rest")


@pytest.mark.parametrize("field", ["treatment", "notes"])
def test_optional_text_may_be_cleared(client, app, world, field):
    response = change(client, world.accounts["author"], world.record["id"], {field: None})
    assert response.status_code == 200
    assert response.get_json()[field] is None
    assert row(app, world.record["id"])[field] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", 1),
        ("patient_id", 1),
        ("doctor_id", 1),
        ("created_by", 1),
        ("created_at", "2024-01-01T00:00:00Z"),
        ("updated_at", "2024-01-01T00:00:00Z"),
        ("archived_at", None),
        ("mrn", "123"),
        ("colour", "blue"),
    ],
)
def test_read_only_and_unknown_fields_are_422(client, app, world, field, value):
    author = world.accounts["author"]
    before = all_rows(app)
    response = create(client, author, world.patient["id"], **{"diagnosis": "Flu", field: value})
    assert_problem(response, 422, "validation_error", field)
    for method in ("PUT", "PATCH"):
        response = change(client, author, world.record["id"], {"notes": "x", field: value}, method)
        assert_problem(response, 422, "validation_error", field)
    assert all_rows(app) == before


def test_doctor_id_cannot_be_chosen(client, app, world):
    """A doctor writes as themselves: naming the colleague is refused, not obeyed."""
    response = create(
        client,
        world.accounts["author"],
        world.patient["id"],
        diagnosis="Flu",
        doctor_id=world.doctors["colleague"]["id"],
    )
    assert_problem(response, 422, "validation_error", "doctor_id")
    assert count_rows(app, "medical_records") == 1


@pytest.mark.parametrize(
    ("headers", "data", "status"),
    [
        ({"Content-Type": "text/plain"}, "diagnosis=Flu", 415),
        ({"Content-Type": "application/json"}, '{"diagnosis": ', 400),
        ({"Content-Type": "application/json"}, '["Flu"]', 422),
    ],
)
def test_bodies_that_are_not_a_json_object(client, app, world, headers, data, status):
    response = client.post(
        f"/patients/{world.patient['id']}/records",
        data=data,
        headers={**world.accounts["author"].headers, **headers},
    )
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert count_rows(app, "medical_records") == 1


# --- appointment_id -------------------------------------------------------------------


def test_an_appointment_of_the_same_patient_is_stored(client, app, world, factory):
    # any of the patient's appointments, also one with another doctor
    colleagues = factory.appointment(
        patient_id=world.patient["id"], doctor_id=world.doctors["colleague"]["id"]
    )
    author = world.accounts["author"]
    for appointment_id in (world.appointment_id, colleagues):
        response = create(
            client, author, world.patient["id"], diagnosis="Flu", appointment_id=appointment_id
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["appointment_id"] == appointment_id
        assert row(app, response.get_json()["id"])["appointment_id"] == appointment_id


def test_an_appointment_is_linked_and_unlinked_by_an_update(client, app, world):
    author = world.accounts["author"]
    response = change(client, author, world.record["id"], {"appointment_id": world.appointment_id})
    assert response.status_code == 200
    assert row(app, world.record["id"])["appointment_id"] == world.appointment_id
    response = change(client, author, world.record["id"], {"appointment_id": None}, "PUT")
    assert response.status_code == 200
    assert response.get_json()["appointment_id"] is None
    assert row(app, world.record["id"])["appointment_id"] is None


@pytest.mark.parametrize("whose", ["other_patient", "missing", "archived"])
def test_an_appointment_that_is_not_the_patients_is_422(client, app, world, factory, whose):
    if whose == "other_patient":
        appointment_id = factory.appointment(
            patient_id=world.other_patient["id"], doctor_id=world.doctors["author"]["id"]
        )
    elif whose == "missing":
        appointment_id = MISSING
    else:
        appointment_id = factory.appointment(
            patient_id=world.patient["id"], doctor_id=world.doctors["author"]["id"]
        )
        with app.app_context():
            db.session.execute(
                update(Appointment)
                .where(Appointment.id == appointment_id)
                .values(archived_at=datetime.now(UTC))
            )
            db.session.commit()
    author = world.accounts["author"]
    before = all_rows(app)

    response = create(
        client, author, world.patient["id"], diagnosis="Flu", appointment_id=appointment_id
    )
    body = assert_problem(response, 422, "validation_error", "appointment_id")
    assert body["errors"].keys() == {"appointment_id"}
    for method in ("PUT", "PATCH"):
        response = change(
            client, author, world.record["id"], {"appointment_id": appointment_id}, method
        )
        assert_problem(response, 422, "validation_error", "appointment_id")
    assert all_rows(app) == before


@pytest.mark.parametrize("value", [0, -1, "1", 1.5, True, 2**63, {"id": 1}])
def test_malformed_appointment_ids_are_422(client, app, world, value):
    response = create(
        client, world.accounts["author"], world.patient["id"], diagnosis="Flu", appointment_id=value
    )
    assert_problem(response, 422, "validation_error", "appointment_id")
    assert count_rows(app, "medical_records") == 1


# --- updates --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_updates_change_only_the_fields_sent(client, app, world, method):
    author = world.accounts["author"]
    before = row(app, world.record["id"])
    response = change(
        client,
        author,
        world.record["id"],
        {"treatment": "Amlodipine 5 mg", "record_date": "2020-01-02"},
        method,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["treatment"] == "Amlodipine 5 mg"
    assert body["record_date"] == "2020-01-02"
    assert body["diagnosis"] == world.record["diagnosis"]
    assert body["notes"] == world.record["notes"]
    assert body["created_at"] == world.record["created_at"]
    after = row(app, world.record["id"])
    assert after["created_at"] == before["created_at"]
    assert after["record_date"] == date(2020, 1, 2)
    assert read(client, author, world.record["id"]).get_json() == body


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_empty_update_changes_nothing(client, app, world, method):
    before = row(app, world.record["id"])
    response = change(client, world.accounts["author"], world.record["id"], {}, method)
    assert response.status_code == 200
    assert response.get_json() == world.record
    assert row(app, world.record["id"]) == before


# --- If-Match, Location ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_stale_if_match_is_412_and_changes_nothing(client, app, world, method):
    author = world.accounts["author"]
    stale = read(client, author, world.record["id"]).headers["ETag"]
    assert change(client, author, world.record["id"], {"notes": "Changed"}).status_code == 200
    before = row(app, world.record["id"])

    if method == "DELETE":
        response = archive(client, author, world.record["id"], **{"If-Match": stale})
    else:
        response = change(
            client, author, world.record["id"], {"diagnosis": "Flu"}, method, **{"If-Match": stale}
        )

    assert_problem(response, 412, "precondition_failed")
    assert row(app, world.record["id"]) == before


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_current_if_match_goes_ahead(client, app, world, method):
    author = world.accounts["author"]
    current = read(client, author, world.record["id"]).headers["ETag"]
    if method == "DELETE":
        response = archive(client, author, world.record["id"], **{"If-Match": current})
        assert response.status_code == 204
        assert row(app, world.record["id"])["archived_at"] is not None
    else:
        response = change(
            client,
            author,
            world.record["id"],
            {"diagnosis": "Flu"},
            method,
            **{"If-Match": current},
        )
        assert response.status_code == 200
        assert response.headers["ETag"] != current
        assert row(app, world.record["id"])["diagnosis"] == "Flu"


def test_create_answers_with_a_location(client, world):
    author = world.accounts["author"]
    response = create(client, author, world.patient["id"], diagnosis="Flu")
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/records/{body['id']}")
    followed = client.get(response.headers["Location"], headers=author.headers)
    assert followed.status_code == 200
    assert followed.get_json() == body
    assert response.headers["ETag"] == followed.headers["ETag"]


# --- lists ----------------------------------------------------------------------------


@pytest.fixture
def dated(client, world):
    """Four more records about the patient, written out of record_date order."""
    written = []
    for day, doctor in [
        ("2024-03-02", "author"),
        ("2023-12-31", "colleague"),
        ("2024-05-20", "author"),
        ("2024-03-02", "colleague"),
    ]:
        response = create(
            client,
            world.accounts[doctor],
            world.patient["id"],
            diagnosis=f"On {day}",
            record_date=day,
        )
        assert response.status_code == 201
        written.append(response.get_json())
    return [world.record, *written]  # in creation order; the first is dated today


def _by_date(records, reverse):
    """record_date order, ties broken by id in the same direction."""
    return [
        r["id"] for r in sorted(records, key=lambda r: (r["record_date"], r["id"]), reverse=reverse)
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, lambda rs: _by_date(rs, reverse=True)),
        ("-record_date", lambda rs: _by_date(rs, reverse=True)),
        ("record_date", lambda rs: _by_date(rs, reverse=False)),
        ("created_at", lambda rs: [r["id"] for r in rs]),
        ("-created_at", lambda rs: [r["id"] for r in reversed(rs)]),
    ],
)
def test_list_order(client, world, dated, sort, expected):
    query = {"sort": sort} if sort else {}
    response = listed(client, world.accounts["patient"], world.patient["id"], **query)
    assert ids(response) == expected(dated)
    assert response.headers["X-Total-Count"] == "5"


def test_the_default_order_is_newest_record_date_first(client, world, dated):
    response = listed(client, world.accounts["author"], world.patient["id"])
    dates = [r["record_date"] for r in response.get_json()]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == world.record["record_date"]
    assert dates[-1] == "2023-12-31"


@pytest.mark.parametrize(
    "sort",
    ["diagnosis", "-doctor_id", "record_date,created_at", "--record_date", "+record_date", ""],
)
def test_unknown_sorts_are_422(client, world, sort):
    response = listed(client, world.accounts["admin"], world.patient["id"], sort=sort)
    assert_problem(response, 422, "validation_error", "sort")


@pytest.mark.parametrize(
    ("page", "expected_index", "links"),
    [
        (1, [0, 1], {"first": 1, "next": 2, "last": 3}),
        (2, [2, 3], {"first": 1, "prev": 1, "next": 3, "last": 3}),
        (3, [4], {"first": 1, "prev": 2, "last": 3}),
        (4, [], {"first": 1, "prev": 3, "last": 3}),
    ],
)
def test_pagination(client, world, dated, page, expected_index, links):
    response = listed(client, world.accounts["admin"], world.patient["id"], page=page, per_page=2)
    everything = _by_date(dated, reverse=True)
    assert ids(response) == [everything[i] for i in expected_index]
    assert response.headers["X-Total-Count"] == "5"
    assert link_pages(response) == links


@pytest.mark.parametrize("query", [{"page": 0}, {"per_page": 0}, {"per_page": 101}, {"page": "x"}])
def test_bad_paging_is_422(client, world, query):
    response = listed(client, world.accounts["admin"], world.patient["id"], **query)
    assert_problem(response, 422, "validation_error", *query)


def test_lists_skip_archived_records_and_admins_may_ask_for_them(client, world, dated):
    admin = world.accounts["admin"]
    gone = dated[2]["id"]
    assert archive(client, world.accounts["colleague"], gone).status_code == 204

    for role in ("admin", "author", "colleague", "patient"):
        response = listed(client, world.accounts[role], world.patient["id"])
        assert gone not in ids(response)
        assert response.headers["X-Total-Count"] == "4"

    response = listed(client, admin, world.patient["id"], include_archived="true")
    assert ids(response) == _by_date(dated, reverse=True)
    assert response.headers["X-Total-Count"] == "5"
    assert read(client, admin, gone, include_archived="true").get_json()["id"] == gone


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_admins_may_include_archived(client, app, world, role):
    """A role that may never see archived records is refused with 403, in scope or not."""
    assert archive(client, world.accounts["admin"], world.record["id"]).status_code == 204
    account = world.accounts[role]
    assert_refused(listed(client, account, world.patient["id"], include_archived="true"), 403)
    assert_refused(read(client, account, world.record["id"], include_archived="true"), 403)
    assert row(app, world.record["id"])["archived_at"] is not None


@pytest.mark.parametrize("role", ["admin", "author", "patient"])
def test_an_archived_record_is_gone_from_every_route(client, app, world, role):
    assert archive(client, world.accounts["admin"], world.record["id"]).status_code == 204
    before = row(app, world.record["id"])
    account = world.accounts[role]
    assert_refused(read(client, account, world.record["id"]), 404)
    assert_refused(change(client, account, world.record["id"], {"notes": "x"}), 404)
    assert_refused(archive(client, account, world.record["id"]), 404)
    assert row(app, world.record["id"]) == before


# --- an archived patient --------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "author", "colleague", "patient"])
def test_an_archived_patients_records_are_not_reachable(client, app, world, role):
    admin = world.accounts["admin"]
    assert (
        client.delete(f"/patients/{world.patient['id']}", headers=admin.headers).status_code == 204
    )
    account = world.accounts[role]
    record_id = world.record["id"]
    before = all_rows(app)

    assert_refused(listed(client, account, world.patient["id"]), 404)
    assert_refused(read(client, account, record_id), 404)
    if role == "admin":
        assert_refused(read(client, account, record_id, include_archived="true"), 404)
        assert_refused(restore(client, account, record_id), 404)
    expected_create = 404 if CREATE[role] == 201 else CREATE[role]
    assert_refused(create(client, account, world.patient["id"], diagnosis="Flu"), expected_create)
    assert_refused(change(client, account, record_id, {"notes": "x"}), 404)
    assert_refused(archive(client, account, record_id), 404)
    assert all_rows(app) == before

    # nothing is lost: restoring the patient brings the records back
    assert (
        client.post(f"/patients/{world.patient['id']}/restore", headers=admin.headers).status_code
        == 200
    )
    if role == "colleague":  # the archive cancelled their only (upcoming) appointment
        assert_refused(listed(client, account, world.patient["id"]), 404)
    else:
        assert ids(listed(client, account, world.patient["id"])) == [record_id]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("asthma", ["asthma"]),
        ("INHALER", ["asthma"]),
        ("review", ["hypertension"]),  # in the notes
        ("lisinopril 10", ["hypertension"]),  # every word must match
        ("lisinopril asthma", []),
        ("100%", ["percent"]),  # % is an ordinary character
        ("", ["percent", "asthma", "hypertension"]),
    ],
)
def test_q_searches_diagnosis_treatment_and_notes(client, world, q, expected):
    author = world.accounts["author"]
    written = {"hypertension": world.record["id"]}
    for key, body in [
        ("asthma", {"diagnosis": "Asthma", "treatment": "Inhaler", "record_date": "2024-01-01"}),
        ("percent", {"diagnosis": "Burns", "notes": "100% healed", "record_date": "2024-01-02"}),
    ]:
        written[key] = create(client, author, world.patient["id"], **body).get_json()["id"]
    # another patient's matching record never shows up
    create(client, world.accounts["colleague"], world.other_patient["id"], diagnosis="Asthma")

    response = listed(
        client, world.accounts["patient"], world.patient["id"], q=q, sort="record_date"
    )
    assert sorted(ids(response)) == sorted(written[key] for key in expected)
    assert response.headers["X-Total-Count"] == str(len(expected))


@pytest.mark.parametrize("value", ["yes", "2", "maybe"])
def test_a_bad_include_archived_value_is_422(client, world, value):
    admin = world.accounts["admin"]
    response = listed(client, admin, world.patient["id"], include_archived=value)
    assert_problem(response, 422, "validation_error", "include_archived")
    response = read(client, admin, world.record["id"], include_archived=value)
    assert_problem(response, 422, "validation_error", "include_archived")
