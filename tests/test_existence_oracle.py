"""No existence oracle: for a caller who does not see every patient, a patient outside
their scope and one that does not exist get the same answer, wherever they are named.

The answers: a query filter that names such a patient matches nothing (200, []); a body
reference is refused as the booking rule has it (404 for a doctor, 403 for a patient);
an id in the path is 404; an appointment_id in a record is the same 422 either way.
"""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_problem, ids
from tests.scheduling_helpers import book, future

MISSING = 999_999


def same_problem(hidden, missing, hidden_id) -> None:
    """The same answer, but for the id that the caller sent."""
    assert hidden.status_code == missing.status_code
    assert hidden.content_type == missing.content_type
    sent_back = missing.get_data(as_text=True).replace(str(MISSING), str(hidden_id))
    assert hidden.get_data(as_text=True) == sent_back


@pytest.fixture
def town(factory, doctor_account, patient_account):
    """A doctor and their patient (with a login), and a patient of another doctor."""
    doctor_login, doctor = doctor_account
    patient_login, patient = patient_account
    colleague = factory.doctor()
    other = factory.patient(first_name="Other")
    mine = factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])
    theirs = factory.appointment(patient_id=other["id"], doctor_id=colleague["id"])
    return {
        "doctor": doctor_login,
        "doctor_row": doctor,
        "patient": patient_login,
        "patient_row": patient,
        "other": other,
        "appointment": mine,
        "other_appointment": theirs,
    }


@pytest.mark.parametrize("caller", ["doctor", "patient"])
def test_the_appointment_filter_matches_nothing_either_way(client, town, caller):
    account = town[caller]
    for patient_id in (town["other"]["id"], MISSING):
        response = client.get(
            "/appointments", query_string={"patient_id": patient_id}, headers=account.headers
        )
        assert ids(response) == []
        assert response.headers["X-Total-Count"] == "0"
    own = client.get(
        "/appointments",
        query_string={"patient_id": town["patient_row"]["id"]},
        headers=account.headers,
    )
    assert ids(own) == [town["appointment"]]


def test_staff_are_told_a_patient_does_not_exist(client, receptionist, town):
    response = client.get(
        "/appointments", query_string={"patient_id": MISSING}, headers=receptionist.headers
    )
    assert_problem(response, 422, "validation_error", "patient_id")


@pytest.mark.parametrize(
    ("role", "status", "code"), [("patient", 403, "forbidden"), ("doctor", 404, "not_found")]
)
def test_a_booking_for_someone_out_of_scope_is_refused_alike(client, town, role, status, code):
    """A patient booking for another, a doctor booking a stranger: the same answer whether
    that patient exists or not."""
    account, doctor_id = town[role], town["doctor_row"]["id"]
    hidden = book(
        client, account, patient_id=town["other"]["id"], doctor_id=doctor_id, start_time=future()
    )
    missing = book(client, account, patient_id=MISSING, doctor_id=doctor_id, start_time=future())
    assert_problem(hidden, status, code)
    same_problem(hidden, missing, town["other"]["id"])


def test_a_records_appointment_id_is_refused_alike(client, town):
    path = f"/patients/{town['patient_row']['id']}/records"

    def write(appointment_id):
        body = {"diagnosis": "Flu", "appointment_id": appointment_id}
        return client.post(path, json=body, headers=town["doctor"].headers)

    hidden, missing = write(town["other_appointment"]), write(MISSING)
    assert_problem(hidden, 422, "validation_error", "appointment_id")
    same_problem(hidden, missing, town["other_appointment"])


@pytest.mark.parametrize(
    ("caller", "template", "status"),
    [
        ("doctor", "/patients/{}", 404),
        ("doctor", "/patients/{}/records", 404),
        ("doctor", "/patients/{}/calendar.ics", 403),
        ("patient", "/patients/{}", 404),
        ("patient", "/patients/{}/records", 404),
        ("patient", "/patients/{}/calendar.ics", 404),
        ("patient", "/patients/{}/access-log", 404),
    ],
)
def test_a_path_to_a_stranger_is_answered_alike(client, town, caller, template, status):
    account, other_id = town[caller], town["other"]["id"]
    hidden = client.get(template.format(other_id), headers=account.headers)
    missing = client.get(template.format(MISSING), headers=account.headers)
    assert hidden.status_code == status
    same_problem(hidden, missing, other_id)


def test_the_access_log_filter_names_no_one_to_a_patient(client, admin, make_account, town):
    account, patient_id = town["patient"], town["patient_row"]["id"]
    someone = make_account("receptionist")
    for actor_id in (someone.id, MISSING):
        response = client.get(
            f"/patients/{patient_id}/access-log",
            query_string={"actor_id": actor_id},
            headers=account.headers,
        )
        assert ids(response) == []
    response = client.get(
        f"/patients/{patient_id}/access-log",
        query_string={"actor_id": MISSING},
        headers=admin.headers,
    )
    assert_problem(response, 422, "validation_error", "actor_id")
