"""Which account acts as a patient: linking and unlinking (user_id) are an admin's alone,
only to an active patient account without a record, and each change is audited with the
old and the new account."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_problem
from tests.audit_helpers import Watch
from tests.conftest import count_rows

NEW = {"first_name": "Grace", "last_name": "Hopper", "date_of_birth": "1990-12-09"}


def patch(client, account, patient_id, body):
    return client.patch(f"/patients/{patient_id}", json=body, headers=account.headers)


def stored_user_id(client, admin, patient_id):
    return client.get(f"/patients/{patient_id}", headers=admin.headers).get_json()["user_id"]


def link_events(watch):
    return [(e["actor_id"], e["patient_id"], e["details"]) for e in watch.events() if e["details"]]


@pytest.fixture
def owned(patient_account):
    """A patient record linked to its own account: (account, patient)."""
    return patient_account


@pytest.mark.parametrize("role", ["receptionist", "doctor", "patient"])
@pytest.mark.parametrize("value", ["new", None], ids=["link", "unlink"])
def test_only_admins_link_or_unlink(client, app, admin, make_account, factory, owned, role, value):
    account, patient = owned
    if role == "doctor":
        caller = make_account("doctor")
        doctor = factory.doctor(user_id=caller.id)
        factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])  # in scope
    elif role == "patient":
        caller = account
    else:
        caller = make_account(role)
    user_id = make_account("patient").id if value == "new" else None
    watch = Watch(app)

    assert_problem(patch(client, caller, patient["id"], {"user_id": user_id}), 403, "forbidden")

    assert stored_user_id(client, admin, patient["id"]) == account.id
    assert client.get(f"/patients/{patient['id']}", headers=account.headers).status_code == 200
    assert link_events(watch) == []


def test_a_receptionist_cannot_take_over_a_patient(client, receptionist, make_account, owned):
    """The attack: register an account, have it linked to someone's record, read it."""
    victim, patient = owned
    attacker = make_account("patient")
    response = patch(client, receptionist, patient["id"], {"user_id": attacker.id})
    assert_problem(response, 403, "forbidden")
    assert_problem(
        client.get(f"/patients/{patient['id']}", headers=attacker.headers), 404, "not_found"
    )
    assert client.get(f"/patients/{patient['id']}", headers=victim.headers).status_code == 200


def test_a_receptionist_creates_no_linked_record(client, app, receptionist, make_account):
    account = make_account("patient")
    response = client.post(
        "/patients", json={**NEW, "user_id": account.id}, headers=receptionist.headers
    )
    assert_problem(response, 403, "forbidden")
    assert count_rows(app, "patients") == 0
    unlinked = client.post("/patients", json=NEW, headers=receptionist.headers)
    assert unlinked.status_code == 201


def test_an_admin_links_relinks_and_unlinks_each_audited(client, app, admin, make_account, owned):
    first, patient = owned
    second = make_account("patient")
    watch = Watch(app)

    relinked = patch(client, admin, patient["id"], {"user_id": second.id})
    assert relinked.status_code == 200, relinked.get_json()
    assert relinked.get_json()["user_id"] == second.id
    assert client.get(f"/patients/{patient['id']}", headers=second.headers).status_code == 200
    assert_problem(
        client.get(f"/patients/{patient['id']}", headers=first.headers), 404, "not_found"
    )

    unlinked = patch(client, admin, patient["id"], {"user_id": None})
    assert unlinked.status_code == 200
    assert unlinked.get_json()["user_id"] is None

    assert link_events(watch) == [
        (admin.id, patient["id"], {"user_id": [first.id, second.id]}),
        (admin.id, patient["id"], {"user_id": [second.id, None]}),
    ]


def test_a_link_made_at_registration_is_audited(client, app, admin, make_account):
    account = make_account("patient")
    watch = Watch(app)
    response = client.post("/patients", json={**NEW, "user_id": account.id}, headers=admin.headers)
    assert response.status_code == 201
    patient_id = response.get_json()["id"]
    assert link_events(watch) == [(admin.id, patient_id, {"user_id": [None, account.id]})]


def test_the_audit_trail_shows_the_change(client, admin, make_account, owned):
    first, patient = owned
    second = make_account("patient")
    patch(client, admin, patient["id"], {"user_id": second.id})
    events = client.get(
        "/audit-events", query_string={"patient_id": patient["id"]}, headers=admin.headers
    ).get_json()
    assert {"user_id": [first.id, second.id]} in [e["details"] for e in events]
    assert all(set(e["details"] or {}) <= {"user_id"} for e in events)


@pytest.mark.parametrize("target", ["inactive", "has_record", "doctor", "missing"])
def test_only_an_active_patient_account_without_a_record_is_linked(
    client, app, admin, make_account, factory, target
):
    patient = factory.patient()
    if target == "missing":
        user_id = 999_999
    elif target == "doctor":
        user_id = make_account("doctor").id
    else:
        user_id = make_account("patient").id
        if target == "inactive":
            response = client.patch(
                f"/users/{user_id}", json={"is_active": False}, headers=admin.headers
            )
            assert response.status_code == 200
        else:
            factory.patient(user_id=user_id)
    watch = Watch(app)

    response = patch(client, admin, patient["id"], {"user_id": user_id})

    assert_problem(response, 422, "validation_error", "user_id")
    assert stored_user_id(client, admin, patient["id"]) is None
    assert link_events(watch) == []
    created = client.post("/patients", json={**NEW, "user_id": user_id}, headers=admin.headers)
    assert_problem(created, 422, "validation_error", "user_id")


def test_a_receptionist_never_reads_a_medical_record(
    client, factory, receptionist, doctor_account, owned
):
    doctor_login, doctor = doctor_account
    _, patient = owned
    factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])
    record = client.post(
        f"/patients/{patient['id']}/records",
        json={"diagnosis": "Asthma"},
        headers=doctor_login.headers,
    )
    assert record.status_code == 201
    for path in (f"/patients/{patient['id']}/records", f"/records/{record.get_json()['id']}"):
        assert_problem(client.get(path, headers=receptionist.headers), 403, "forbidden")
