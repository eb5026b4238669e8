"""A doctor books only patients already in their scope: booking is no way into a record.

Anyone else's patient answers 404 as one that does not exist, with a denied event, before
any conflict check, so a refused booking tells nothing of the patient's schedule.
"""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_problem
from tests.audit_helpers import Watch
from tests.conftest import count_rows
from tests.scheduling_helpers import book, booked, future


@pytest.fixture
def clinic(factory, doctor_account):
    """A doctor with one patient of theirs, a colleague, and patients of no one's."""
    account, doctor = doctor_account
    colleague = factory.doctor()
    mine = factory.patient(first_name="Mine")
    strangers = [factory.patient(first_name=f"Stranger{n}") for n in range(3)]
    factory.appointment(patient_id=mine["id"], doctor_id=doctor["id"], start=future(days=2))
    return account, doctor, colleague, mine, strangers


def test_a_doctor_books_a_patient_of_theirs_with_themselves(client, clinic):
    account, doctor, _, mine, _ = clinic
    appointment = booked(
        client, account, patient_id=mine["id"], doctor_id=doctor["id"], start_time=future()
    )
    assert (appointment["patient_id"], appointment["doctor_id"]) == (mine["id"], doctor["id"])
    assert appointment["created_by"] == account.id


def test_a_referral_books_a_patient_of_theirs_with_another_doctor(client, clinic):
    account, _, colleague, mine, _ = clinic
    appointment = booked(
        client, account, patient_id=mine["id"], doctor_id=colleague["id"], start_time=future()
    )
    assert (appointment["patient_id"], appointment["doctor_id"]) == (mine["id"], colleague["id"])


def test_book_cancel_next_fails_at_every_step(client, app, admin, clinic):
    """The attack that gave a doctor the whole hospital: book a stranger, read them,
    cancel, go on to the next id."""
    account, doctor, colleague, _, strangers = clinic
    before = count_rows(app, "appointments")
    for stranger in strangers:
        for doctor_id in (doctor["id"], colleague["id"]):
            response = book(
                client, account, patient_id=stranger["id"], doctor_id=doctor_id, start_time=future()
            )
            assert_problem(response, 404, "not_found")
            assert "conflicts" not in response.get_json()
        patient = client.get(f"/patients/{stranger['id']}", headers=account.headers)
        assert_problem(patient, 404, "not_found")
        records = client.get(f"/patients/{stranger['id']}/records", headers=account.headers)
        assert_problem(records, 404, "not_found")
    assert count_rows(app, "appointments") == before
    listed = client.get("/patients", headers=account.headers).get_json()
    assert stranger["id"] not in {p["id"] for p in listed}


def test_a_cancelled_booking_leaves_nothing_to_book_on(client, app, admin, clinic):
    """Staff booked a stranger with the doctor, then cancelled it: the doctor gets
    neither the patient nor a way to book them back."""
    account, doctor, _, _, strangers = clinic
    stranger = strangers[0]
    appointment = booked(
        client, admin, patient_id=stranger["id"], doctor_id=doctor["id"], start_time=future(9)
    )
    assert client.get(f"/patients/{stranger['id']}", headers=account.headers).status_code == 200
    cancelled = client.patch(
        f"/appointments/{appointment['id']}",
        json={"status": "cancelled", "cancellation_reason": "Booked in error"},
        headers=admin.headers,
    )
    assert cancelled.status_code == 200

    assert_problem(
        client.get(f"/patients/{stranger['id']}", headers=account.headers), 404, "not_found"
    )
    response = book(
        client, account, patient_id=stranger["id"], doctor_id=doctor["id"], start_time=future(10)
    )
    assert_problem(response, 404, "not_found")


def test_a_stranger_and_a_missing_patient_get_the_same_answer(client, clinic):
    account, doctor, _, _, strangers = clinic
    hidden = book(
        client, account, patient_id=strangers[0]["id"], doctor_id=doctor["id"], start_time=future()
    )
    missing = book(client, account, patient_id=999_999, doctor_id=doctor["id"], start_time=future())
    assert hidden.status_code == missing.status_code == 404
    drop = {"detail"}
    assert {k: v for k, v in hidden.get_json().items() if k not in drop} == {
        k: v for k, v in missing.get_json().items() if k not in drop
    }
    assert hidden.get_json()["detail"] == missing.get_json()["detail"].replace(
        "999999", str(strangers[0]["id"])
    )


def test_a_refused_booking_is_a_denied_event_naming_the_patient(client, app, clinic):
    account, doctor, _, _, strangers = clinic
    watch = Watch(app)
    book(
        client, account, patient_id=strangers[0]["id"], doctor_id=doctor["id"], start_time=future()
    )
    book(client, account, patient_id=999_999, doctor_id=doctor["id"], start_time=future())

    shapes = [
        {k: e[k] for k in ("actor_id", "action", "resource_type", "patient_id", "outcome")}
        for e in watch.events()
    ]
    denied = {"actor_id": account.id, "action": "create", "resource_type": "appointment"}
    assert shapes == [
        {**denied, "patient_id": strangers[0]["id"], "outcome": "denied"},
        {**denied, "patient_id": None, "outcome": "denied"},
    ]


def test_a_refused_booking_reveals_none_of_the_patients_times(client, app, admin, clinic):
    """The stranger is booked with the colleague at that very time: the answer is still
    the 404 of a patient who does not exist, never a 409 listing their appointment."""
    account, doctor, colleague, _, strangers = clinic
    stranger, when = strangers[0], future(days=12)
    booked(client, admin, patient_id=stranger["id"], doctor_id=colleague["id"], start_time=when)

    response = book(
        client, account, patient_id=stranger["id"], doctor_id=doctor["id"], start_time=when
    )

    body = assert_problem(response, 404, "not_found")
    assert "conflicts" not in body
    assert when.isoformat()[:16] not in response.get_data(as_text=True)


def test_an_archived_patient_of_theirs_is_404_too(client, app, admin, clinic):
    account, doctor, _, mine, _ = clinic
    assert client.delete(f"/patients/{mine['id']}", headers=admin.headers).status_code == 204
    response = book(
        client, account, patient_id=mine["id"], doctor_id=doctor["id"], start_time=future()
    )
    assert_problem(response, 404, "not_found")


def test_staff_still_book_anyone(client, receptionist, clinic):
    _, doctor, _, _, strangers = clinic
    appointment = booked(
        client,
        receptionist,
        patient_id=strangers[0]["id"],
        doctor_id=doctor["id"],
        start_time=future(),
    )
    assert appointment["patient_id"] == strangers[0]["id"]
