"""Patients: who creates and changes what, archiving, restoring, filters and sorting."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from meditrack.extensions import db
from tests.api_helpers import assert_problem, ids
from tests.conftest import count_rows

FIELDS = {
    "id",
    "mrn",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "email",
    "phone",
    "address",
    "department_id",
    "department",
    "blood_type",
    "allergies",
    "emergency_contact_name",
    "emergency_contact_phone",
    "user_id",
    "created_at",
    "updated_at",
}
CONTACT_FIELDS = {
    "email": "new@example.org",
    "phone": "+1 555 0199",
    "address": "1 New Street\nSpringfield",
    "emergency_contact_name": "Marge",
    "emergency_contact_phone": "555-0123",
}
CLINICAL_FIELDS = {"blood_type": "AB-", "allergies": "Penicillin"}
OTHER_FIELDS = {
    "first_name": "Changed",
    "last_name": "Changed",
    "date_of_birth": "1970-01-01",
    "gender": "other",
}
STAFF = ("admin", "receptionist")
VALID = {"first_name": "Homer", "last_name": "Simpson", "date_of_birth": "1956-05-12"}


@pytest.fixture
def staff(request, make_account):
    """An admin or a receptionist account, by the `role` parameter."""
    return make_account(request.param)


def post(client, account, body):
    return client.post("/patients", json=body, headers=account.headers)


def get(client, account, patient_id, **query):
    return client.get(f"/patients/{patient_id}", query_string=query, headers=account.headers)


def listed(client, account, **query):
    return client.get("/patients", query_string=query, headers=account.headers)


def patch(client, account, patient_id, body):
    return client.patch(f"/patients/{patient_id}", json=body, headers=account.headers)


def appointment_rows(app, patient_id):
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT id, status, cancellation_reason FROM appointments"
                " WHERE patient_id = :p ORDER BY id"
            ),
            {"p": patient_id},
        )
        return {row.id: (row.status, row.cancellation_reason) for row in rows}


# --- create ---------------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF, indirect=True)
def test_staff_create_a_patient(client, staff, factory):
    department = factory.department(name="Cardiology")
    body = {
        **VALID,
        "gender": "male",
        "email": "homer@example.org",
        "phone": "555-0100",
        "address": "742 Evergreen Terrace",
        "department_id": department["id"],
        "blood_type": "O+",
        "allergies": "Donuts?\tNo.",
        "emergency_contact_name": "Marge Simpson",
        "emergency_contact_phone": "555-0101",
    }

    response = post(client, staff, body)

    assert response.status_code == 201
    patient = response.get_json()
    assert set(patient) == FIELDS
    for name, value in body.items():
        assert patient[name] == value, name
    assert patient["department"] == {"id": department["id"], "name": "Cardiology"}
    assert patient["user_id"] is None
    assert response.headers["Location"].endswith(f"/patients/{patient['id']}")
    assert client.get(response.headers["Location"], headers=staff.headers).get_json() == patient


def test_defaults(client, admin):
    patient = post(client, admin, VALID).get_json()
    assert patient["gender"] == "unknown"
    for name in ("email", "phone", "address", "department_id", "department", "blood_type"):
        assert patient[name] is None, name


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def test_the_server_makes_a_unique_ten_digit_mrn(client, admin):
    mrns = [post(client, admin, VALID).get_json()["mrn"] for _ in range(12)]
    assert all(re.fullmatch(r"\d{10}", mrn) for mrn in mrns)
    assert all(luhn_valid(mrn) for mrn in mrns)
    assert len(set(mrns)) == len(mrns)


def test_sending_an_mrn_is_refused(client, app, admin):
    response = post(client, admin, {**VALID, "mrn": "1234567890"})
    assert_problem(response, 422, "validation_error", "mrn")
    assert count_rows(app, "patients") == 0


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_the_mrn_never_changes(client, admin, factory, method):
    patient = factory.patient()
    response = client.open(
        f"/patients/{patient['id']}", method=method, json={"mrn": "0"}, headers=admin.headers
    )
    assert_problem(response, 422, "validation_error", "mrn")
    assert get(client, admin, patient["id"]).get_json()["mrn"] == patient["mrn"]


@pytest.mark.parametrize("missing", ["first_name", "last_name", "date_of_birth"])
def test_required_fields(client, app, admin, missing):
    body = {k: v for k, v in VALID.items() if k != missing}
    assert_problem(post(client, admin, body), 422, "validation_error", missing)
    assert count_rows(app, "patients") == 0


@pytest.mark.parametrize(
    "born",
    [
        date.today() + timedelta(days=2),
        date(2999, 1, 1),
        date(1899, 12, 31),
        date(1066, 10, 14),
    ],
    ids=str,
)
def test_implausible_dates_of_birth(client, app, admin, born):
    response = post(client, admin, {**VALID, "date_of_birth": born.isoformat()})
    assert_problem(response, 422, "validation_error", "date_of_birth")
    assert count_rows(app, "patients") == 0


@pytest.mark.parametrize("born", [date(1900, 1, 1), date.today() - timedelta(days=1)], ids=str)
def test_dates_of_birth_at_the_bounds(client, admin, born):
    response = post(client, admin, {**VALID, "date_of_birth": born.isoformat()})
    assert response.status_code == 201
    assert response.get_json()["date_of_birth"] == born.isoformat()


@pytest.mark.parametrize("gender", ["female", "male", "other", "unknown"])
def test_every_gender_is_accepted(client, admin, gender):
    assert post(client, admin, {**VALID, "gender": gender}).get_json()["gender"] == gender


@pytest.mark.parametrize("blood_type", ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", None])
def test_every_blood_type_is_accepted(client, admin, blood_type):
    response = post(client, admin, {**VALID, "blood_type": blood_type})
    assert response.get_json()["blood_type"] == blood_type


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gender", "f"),
        ("gender", "Female"),
        ("gender", None),
        ("blood_type", "C+"),
        ("blood_type", "o+"),
        ("blood_type", ""),
    ],
)
def test_enums_refuse_other_values(client, app, admin, field, value):
    assert_problem(post(client, admin, {**VALID, field: value}), 422, "validation_error", field)
    assert count_rows(app, "patients") == 0


def test_a_department_that_does_not_exist_is_a_422(client, app, admin):
    response = post(client, admin, {**VALID, "department_id": 5555})
    assert_problem(response, 422, "validation_error", "department_id")
    assert count_rows(app, "patients") == 0


def test_staff_may_link_a_patient_account(client, admin, make_account):
    account = make_account("patient")
    response = post(client, admin, {**VALID, "user_id": account.id})
    assert response.status_code == 201
    assert response.get_json()["user_id"] == account.id


@pytest.mark.parametrize("role", ["doctor", "receptionist", "admin"])
def test_only_patient_accounts_are_linked(client, app, admin, make_account, role):
    account = make_account(role)
    response = post(client, admin, {**VALID, "user_id": account.id})
    assert_problem(response, 422, "validation_error", "user_id")
    assert count_rows(app, "patients") == 0


def test_a_patient_account_is_linked_to_one_record(client, app, admin, patient_account):
    account, _ = patient_account
    response = post(client, admin, {**VALID, "user_id": account.id})
    assert_problem(response, 422, "validation_error", "user_id")
    assert count_rows(app, "patients") == 1


def test_a_patient_account_creates_its_own_record_once(client, app, make_account):
    account = make_account("patient")

    first = post(client, account, {**VALID, "blood_type": "A+", "email": "me@example.org"})
    assert first.status_code == 201
    mine = first.get_json()
    assert mine["user_id"] == account.id
    assert get(client, account, mine["id"]).get_json() == mine
    assert ids(listed(client, account)) == [mine["id"]]

    second = post(client, account, VALID)
    assert_problem(second, 409, "duplicate")
    assert count_rows(app, "patients") == 1


@pytest.mark.parametrize("field", ["department_id", "user_id"])
def test_a_patient_account_may_not_set_department_or_user(
    client, app, factory, make_account, field
):
    account = make_account("patient")
    value = factory.department()["id"] if field == "department_id" else account.id
    assert_problem(post(client, account, {**VALID, field: value}), 403, "forbidden")
    assert count_rows(app, "patients") == 0


def test_doctors_do_not_create_patients(client, app, doctor_account):
    account, _ = doctor_account
    assert_problem(post(client, account, VALID), 403, "forbidden")
    assert count_rows(app, "patients") == 0


# --- update ---------------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF, indirect=True)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_staff_change_every_field_but_the_mrn(client, staff, factory, make_account, method):
    patient = factory.patient()
    department = factory.department()
    account = make_account("patient")
    changes = {
        **CONTACT_FIELDS,
        **CLINICAL_FIELDS,
        **OTHER_FIELDS,
        "department_id": department["id"],
    }
    if staff.role == "admin":  # linking an account is an admin's alone (test_account_link.py)
        changes["user_id"] = account.id

    response = client.open(
        f"/patients/{patient['id']}", method=method, json=changes, headers=staff.headers
    )

    assert response.status_code == 200, response.get_json()
    updated = response.get_json()
    for name, value in changes.items():
        assert updated[name] == value, name
    assert updated["department"]["id"] == department["id"]
    assert updated["mrn"] == patient["mrn"]
    assert get(client, staff, patient["id"]).get_json() == updated


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_updates_change_only_the_fields_sent(client, admin, factory, method):
    patient = factory.patient(phone="555-0100", allergies="Nuts", gender="female")
    response = client.open(
        f"/patients/{patient['id']}", method=method, json={"phone": None}, headers=admin.headers
    )
    assert response.status_code == 200
    updated = response.get_json()
    assert updated["phone"] is None
    assert {k: v for k, v in updated.items() if k not in ("phone", "updated_at")} == {
        k: v for k, v in patient.items() if k not in ("phone", "updated_at")
    }


@pytest.fixture
def my_patient(factory, doctor_account):
    """A doctor account and a patient with an appointment with that doctor."""
    account, doctor = doctor_account
    patient = factory.patient(gender="female", allergies="None known")
    factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])
    return account, patient


def test_a_doctor_changes_clinical_fields_of_their_patient(client, admin, my_patient):
    account, patient = my_patient
    response = patch(client, account, patient["id"], CLINICAL_FIELDS)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in CLINICAL_FIELDS} == CLINICAL_FIELDS
    assert get(client, admin, patient["id"]).get_json()["allergies"] == "Penicillin"


@pytest.mark.parametrize(
    "body",
    [
        *({name: value} for name, value in {**CONTACT_FIELDS, **OTHER_FIELDS}.items()),
        {"department_id": None},
        {"allergies": "Latex", "first_name": "Sneaky"},
    ],
    ids=lambda body: "+".join(body),
)
def test_a_doctor_changes_nothing_else(client, admin, my_patient, body):
    account, patient = my_patient
    assert_problem(patch(client, account, patient["id"], body), 403, "forbidden")
    assert get(client, admin, patient["id"]).get_json() == patient


def test_a_patient_changes_their_contact_fields(client, admin, patient_account):
    account, patient = patient_account
    response = patch(client, account, patient["id"], CONTACT_FIELDS)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in CONTACT_FIELDS} == CONTACT_FIELDS
    assert get(client, admin, patient["id"]).get_json()["email"] == "new@example.org"


@pytest.mark.parametrize(
    "body",
    [
        *({name: value} for name, value in {**CLINICAL_FIELDS, **OTHER_FIELDS}.items()),
        {"department_id": None},
        {"user_id": None},
        {"phone": "555-0000", "blood_type": "O-"},
    ],
    ids=lambda body: "+".join(body),
)
def test_a_patient_changes_nothing_else(client, admin, patient_account, body):
    account, patient = patient_account
    assert_problem(patch(client, account, patient["id"], body), 403, "forbidden")
    assert get(client, admin, patient["id"]).get_json() == patient


def test_an_invalid_update_changes_nothing(client, admin, factory):
    patient = factory.patient()
    response = patch(client, admin, patient["id"], {"phone": "555", "date_of_birth": "2999-01-01"})
    assert_problem(response, 422, "validation_error", "date_of_birth")
    assert get(client, admin, patient["id"]).get_json() == patient


def test_moving_a_patient_to_another_department_shows_it(client, admin, factory):
    patient = factory.patient(department_id=factory.department()["id"])
    target = factory.department(name="Geriatrics")
    response = patch(client, admin, patient["id"], {"department_id": target["id"]})
    assert response.get_json()["department"] == {"id": target["id"], "name": "Geriatrics"}
    cleared = patch(client, admin, patient["id"], {"department_id": None})
    assert (cleared.get_json()["department_id"], cleared.get_json()["department"]) == (None, None)


# --- archive and restore --------------------------------------------------------------


def archive(client, account, patient_id):
    return client.delete(f"/patients/{patient_id}", headers=account.headers)


@pytest.mark.parametrize("staff", STAFF, indirect=True)
def test_staff_archive_a_patient(client, app, admin, staff, factory):
    patient = factory.patient()
    kept = factory.patient()

    response = archive(client, staff, patient["id"])

    assert response.status_code == 204
    assert_problem(get(client, staff, patient["id"]), 404, "not_found")
    assert ids(listed(client, admin)) == [kept["id"]]
    assert count_rows(app, "patients") == 2
    assert_problem(archive(client, staff, patient["id"]), 404, "not_found")
    assert_problem(patch(client, staff, patient["id"], {"phone": "1"}), 404, "not_found")


def test_archiving_cancels_future_appointments_only(client, app, admin, factory):
    patient = factory.patient()
    other = factory.patient()
    doctor = factory.doctor()
    now = datetime.now(UTC)

    def book(patient_id, days, status="scheduled"):
        start = now + timedelta(days=days)
        return factory.appointment(
            patient_id=patient_id, doctor_id=doctor["id"], start=start, status=status
        )

    future = book(patient["id"], 2)
    later = book(patient["id"], 30)
    past = book(patient["id"], -2)
    past_completed = book(patient["id"], -5, "completed")
    someone_elses = book(other["id"], 3)

    assert archive(client, admin, patient["id"]).status_code == 204

    rows = appointment_rows(app, patient["id"])
    reason = rows[future][1]
    assert reason
    assert rows == {
        future: ("cancelled", reason),
        later: ("cancelled", reason),
        past: ("scheduled", None),
        past_completed: ("completed", None),
    }
    assert appointment_rows(app, other["id"]) == {someone_elses: ("scheduled", None)}


def test_a_doctor_may_not_archive(client, admin, my_patient, factory):
    account, patient = my_patient
    stranger = factory.patient()
    assert_problem(archive(client, account, patient["id"]), 403, "forbidden")
    assert_problem(archive(client, account, stranger["id"]), 404, "not_found")
    assert get(client, admin, patient["id"]).status_code == 200
    assert get(client, admin, stranger["id"]).status_code == 200


def test_a_patient_may_not_archive(client, admin, patient_account, factory):
    account, patient = patient_account
    stranger = factory.patient()
    assert_problem(archive(client, account, patient["id"]), 403, "forbidden")
    assert_problem(archive(client, account, stranger["id"]), 404, "not_found")
    assert get(client, admin, patient["id"]).status_code == 200
    assert get(client, admin, stranger["id"]).status_code == 200


def test_admins_see_and_restore_archived_patients(client, admin, factory):
    patient = factory.patient()
    archive(client, admin, patient["id"])

    assert ids(listed(client, admin, include_archived="true")) == [patient["id"]]
    assert get(client, admin, patient["id"], include_archived="true").status_code == 200

    restored = client.post(f"/patients/{patient['id']}/restore", headers=admin.headers)
    assert restored.status_code == 200
    assert restored.get_json()["mrn"] == patient["mrn"]
    assert get(client, admin, patient["id"]).status_code == 200
    assert ids(listed(client, admin)) == [patient["id"]]


@pytest.mark.parametrize("role", ["receptionist", "doctor", "patient"])
def test_other_roles_may_not_see_archived_or_restore(client, admin, make_account, factory, role):
    patient = factory.patient()
    archive(client, admin, patient["id"])
    account = make_account(role)

    assert_problem(listed(client, account, include_archived="true"), 403, "forbidden")
    assert_problem(get(client, account, patient["id"], include_archived="true"), 403, "forbidden")
    restore = client.post(f"/patients/{patient['id']}/restore", headers=account.headers)
    assert_problem(restore, 403, "forbidden")
    assert_problem(get(client, admin, patient["id"]), 404, "not_found")


def test_restoring_an_unknown_patient_is_404(client, admin):
    assert_problem(client.post("/patients/31337/restore", headers=admin.headers), 404, "not_found")


# --- filters and sorting --------------------------------------------------------------


@pytest.fixture
def families(factory):
    """Four patients over two departments; returns (departments, {key: patient})."""
    cardiology = factory.department(name="Cardiology")
    neurology = factory.department(name="Neurology")
    patients = {
        "homer": factory.patient(
            first_name="Homer",
            last_name="Simpson",
            date_of_birth="1956-05-12",
            gender="male",
            email="homer@springfield.example",
            phone="555-0113",
            department_id=cardiology["id"],
        ),
        "marge": factory.patient(
            first_name="Marge",
            last_name="Simpson",
            date_of_birth="1956-10-01",
            gender="female",
            department_id=neurology["id"],
        ),
        "ned": factory.patient(
            first_name="Ned",
            last_name="Flanders",
            date_of_birth="1950-01-01",
            gender="male",
            phone="+1 (555) 0199",
        ),
        "edna": factory.patient(
            first_name="Edna",
            last_name="Krabappel",
            date_of_birth="1960-03-15",
            gender="female",
            email="edna_k@school.example",
            department_id=cardiology["id"],
        ),
    }
    return {"cardiology": cardiology["id"], "neurology": neurology["id"]}, patients


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["ned", "edna", "homer", "marge"]),
        ({"q": "homer"}, ["homer"]),
        ({"q": "SIMPSON"}, ["homer", "marge"]),
        ({"q": "marge simpson"}, ["marge"]),
        ({"q": "simpson  homer"}, ["homer"]),
        ({"q": "marge flanders"}, []),
        ({"q": "springfield.example"}, ["homer"]),
        ({"q": "(555)"}, ["ned"]),
        ({"q": "edna_"}, ["edna"]),
        ({"q": "_"}, ["edna"]),
        ({"q": "%"}, []),
        ({"date_of_birth": "1956-05-12"}, ["homer"]),
        ({"date_of_birth": "1956-05-13"}, []),
        ({"gender": "female"}, ["edna", "marge"]),
        ({"gender": "other"}, []),
        ({"department_id": "{cardiology}"}, ["edna", "homer"]),
        ({"department_id": "{neurology}", "gender": "female"}, ["marge"]),
        ({"department_id": "{neurology}", "gender": "male"}, []),
    ],
)
def test_filters(client, admin, families, query, expected):
    departments, patients = families
    query = {k: v.format(**departments) for k, v in query.items()}
    response = listed(client, admin, **query)
    assert ids(response) == [patients[name]["id"] for name in expected]
    assert response.headers["X-Total-Count"] == str(len(expected))


def test_q_finds_a_patient_by_mrn(client, admin, families):
    _, patients = families
    mrn = patients["marge"]["mrn"]
    assert ids(listed(client, admin, q=mrn)) == [patients["marge"]["id"]]
    assert patients["marge"]["id"] in ids(listed(client, admin, q=mrn[:6]))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"department_id": "4242"}, "department_id"),
        ({"department_id": "x"}, "department_id"),
        ({"gender": "f"}, "gender"),
        ({"date_of_birth": "1956-02-30"}, "date_of_birth"),
        ({"date_of_birth": "yesterday"}, "date_of_birth"),
        ({"sort": "first_name"}, "sort"),
        ({"include_archived": "perhaps"}, "include_archived"),
    ],
)
def test_bad_filter_values_are_422(client, admin, families, query, field):
    assert_problem(listed(client, admin, **query), 422, "validation_error", field)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("last_name", ["ned", "edna", "homer", "marge"]),
        ("-last_name", ["marge", "homer", "edna", "ned"]),
        ("date_of_birth", ["ned", "homer", "marge", "edna"]),
        ("-date_of_birth", ["edna", "marge", "homer", "ned"]),
        ("created_at", ["homer", "marge", "ned", "edna"]),
        ("-created_at", ["edna", "ned", "marge", "homer"]),
    ],
)
def test_sorting(client, admin, families, sort, expected):
    _, patients = families
    assert ids(listed(client, admin, sort=sort)) == [patients[name]["id"] for name in expected]
