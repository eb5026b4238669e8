"""Who sees whom: a record outside the caller's scope answers 404, as if it did not exist."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api_helpers import assert_problem, ids


def get(client, account, patient_id):
    return client.get(f"/patients/{patient_id}", headers=account.headers)


def listed(client, account, **query):
    return client.get("/patients", query_string=query, headers=account.headers)


def patch(client, account, patient_id, body):
    return client.patch(f"/patients/{patient_id}", json=body, headers=account.headers)


@pytest.fixture
def two_patients(make_account, factory):
    """Two patient accounts, each linked to its own record: [(account, patient), ...]."""
    pairs = []
    for name in ("Lisa", "Bart"):
        account = make_account("patient")
        pairs.append((account, factory.patient(first_name=name, user_id=account.id)))
    return pairs


# --- patients ---------------------------------------------------------------------------


def test_a_patient_sees_only_their_own_record(client, factory, two_patients):
    (lisa, lisas), (_, barts) = two_patients
    factory.patient()  # an unlinked record

    assert get(client, lisa, lisas["id"]).get_json() == lisas
    assert_problem(get(client, lisa, barts["id"]), 404, "not_found")
    response = listed(client, lisa)
    assert ids(response) == [lisas["id"]]
    assert response.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    "query",
    [{"q": "Bart"}, {"sort": "-created_at"}, {"per_page": "100"}, {"date_of_birth": "1980-05-17"}],
)
def test_filters_never_widen_a_patients_scope(client, two_patients, query):
    (lisa, lisas), _ = two_patients
    assert set(ids(listed(client, lisa, **query))) <= {lisas["id"]}


def test_a_missing_and_an_out_of_scope_record_look_the_same(client, two_patients):
    (lisa, _), (_, barts) = two_patients
    hidden = get(client, lisa, barts["id"]).get_json()
    missing = get(client, lisa, 999_999).get_json()
    assert {k: v for k, v in hidden.items() if k != "detail"} == {
        k: v for k, v in missing.items() if k != "detail"
    }
    assert hidden["detail"] == missing["detail"].replace("999999", str(barts["id"]))


def test_a_patient_cannot_change_another_patients_record(client, admin, two_patients):
    (lisa, _), (_, barts) = two_patients
    response = patch(client, lisa, barts["id"], {"phone": "555-0666"})
    assert_problem(response, 404, "not_found")
    assert get(client, admin, barts["id"]).get_json()["phone"] is None


def test_a_patient_cannot_archive_another_patients_record(client, admin, two_patients):
    (lisa, _), (_, barts) = two_patients
    response = client.delete(f"/patients/{barts['id']}", headers=lisa.headers)
    assert_problem(response, 404, "not_found")
    assert get(client, admin, barts["id"]).status_code == 200


def test_a_patient_account_without_a_record_sees_nothing(client, make_account, factory):
    factory.patient()
    account = make_account("patient")
    assert ids(listed(client, account)) == []


# --- doctors ----------------------------------------------------------------------------


@pytest.fixture
def practice(factory, doctor_account):
    """A doctor account, one patient booked with them, one booked with another doctor,
    one with no appointment at all."""
    account, doctor = doctor_account
    colleague = factory.doctor()
    mine = factory.patient(first_name="Mine")
    theirs = factory.patient(first_name="Theirs")
    nobodys = factory.patient(first_name="Nobodys")
    factory.appointment(patient_id=mine["id"], doctor_id=doctor["id"])
    factory.appointment(patient_id=theirs["id"], doctor_id=colleague["id"])
    return account, doctor, {"mine": mine, "theirs": theirs, "nobodys": nobodys}


def test_a_doctor_sees_only_patients_booked_with_them(client, practice):
    account, _, patients = practice
    response = listed(client, account)
    assert ids(response) == [patients["mine"]["id"]]
    assert response.headers["X-Total-Count"] == "1"
    assert get(client, account, patients["mine"]["id"]).get_json() == patients["mine"]


@pytest.mark.parametrize("other", ["theirs", "nobodys"])
def test_other_patients_are_404_for_a_doctor(client, admin, practice, other):
    account, _, patients = practice
    patient = patients[other]
    assert_problem(get(client, account, patient["id"]), 404, "not_found")
    assert_problem(patch(client, account, patient["id"], {"allergies": "x"}), 404, "not_found")
    assert get(client, admin, patient["id"]).get_json()["allergies"] is None


@pytest.mark.parametrize("status", ["scheduled", "completed", "no_show"])
def test_a_new_appointment_brings_the_patient_into_scope(client, factory, practice, status):
    account, doctor, patients = practice
    patient = patients["nobodys"]
    assert_problem(get(client, account, patient["id"]), 404, "not_found")

    start = datetime.now(UTC) + timedelta(days=3)  # clear of the doctor's other booking
    factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=start, status=status
    )

    assert get(client, account, patient["id"]).status_code == 200
    assert sorted(ids(listed(client, account))) == sorted([patients["mine"]["id"], patient["id"]])


def test_a_patient_with_several_appointments_is_listed_once(client, factory, practice):
    account, doctor, patients = practice
    mine = patients["mine"]
    later = datetime.now(UTC) + timedelta(days=5)
    factory.appointment(patient_id=mine["id"], doctor_id=doctor["id"], start=later)
    assert ids(listed(client, account)) == [mine["id"]]


def test_a_doctor_account_not_linked_to_a_doctor_sees_no_patients(
    client, make_account, factory, practice
):
    _, _, patients = practice
    unlinked = make_account("doctor")
    assert ids(listed(client, unlinked)) == []
    for patient in patients.values():
        assert_problem(get(client, unlinked, patient["id"]), 404, "not_found")


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_staff_see_everyone(client, make_account, practice, role):
    _, _, patients = practice
    account = make_account(role)
    assert sorted(ids(listed(client, account))) == sorted(p["id"] for p in patients.values())


@pytest.mark.parametrize("status", ["cancelled", "archived"])
def test_a_cancelled_or_archived_appointment_grants_nothing(client, app, factory, practice, status):
    account, doctor, patients = practice
    patient = patients["nobodys"]
    start = datetime.now(UTC) + timedelta(days=3)
    appointment_id = factory.appointment(
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        start=start,
        status="cancelled" if status == "cancelled" else "scheduled",
    )
    if status == "archived":
        response = client.delete(f"/appointments/{appointment_id}", headers=factory.admin.headers)
        assert response.status_code == 204

    assert_problem(get(client, account, patient["id"]), 404, "not_found")
    assert ids(listed(client, account)) == [patients["mine"]["id"]]
    records = client.get(f"/patients/{patient['id']}/records", headers=account.headers)
    assert_problem(records, 404, "not_found")


def _write_record(client, account, patient_id):
    response = client.post(
        f"/patients/{patient_id}/records", json={"diagnosis": "Asthma"}, headers=account.headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_record_the_doctor_wrote_keeps_the_patient_in_scope(client, practice):
    account, _, patients = practice
    mine = patients["mine"]
    _write_record(client, account, mine["id"])
    appointment = client.get("/appointments", headers=account.headers).get_json()[0]
    cancel = client.patch(
        f"/appointments/{appointment['id']}",
        json={"status": "cancelled", "cancellation_reason": "Moved away"},
        headers=account.headers,
    )
    assert cancel.status_code == 200, cancel.get_json()

    assert get(client, account, mine["id"]).status_code == 200
    assert ids(listed(client, account)) == [mine["id"]]


def test_an_archived_record_brings_no_one_into_scope(client, practice):
    """An archived record is gone from the API; it grants its author nothing either."""
    account, _, patients = practice
    mine = patients["mine"]
    record_id = _write_record(client, account, mine["id"])
    appointment = client.get("/appointments", headers=account.headers).get_json()[0]
    client.patch(
        f"/appointments/{appointment['id']}",
        json={"status": "cancelled", "cancellation_reason": "Moved away"},
        headers=account.headers,
    )
    assert get(client, account, mine["id"]).status_code == 200  # the record alone
    assert client.delete(f"/records/{record_id}", headers=account.headers).status_code == 204

    assert_problem(get(client, account, mine["id"]), 404, "not_found")
    assert ids(listed(client, account)) == []
