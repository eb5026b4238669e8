"""Emergency access ("break the glass"): a doctor reaches a patient outside their scope by
exact MRN and a stated reason, for a fixed window, every step in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from meditrack import config as settings
from meditrack.emergency.models import EmergencyAccess
from meditrack.extensions import db
from tests.api_helpers import assert_problem, ids
from tests.audit_helpers import Watch
from tests.conftest import count_rows

REASON = "Unconscious on arrival, needs allergy history"
REFUSAL = "emergency access grants are never changed or removed"


def request_access(client, account, mrn, reason=REASON):
    return client.post(
        "/emergency-access", json={"mrn": mrn, "reason": reason}, headers=account.headers
    )


def granted(client, account, mrn) -> dict:
    response = request_access(client, account, mrn)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reads_patient(client, account, patient_id) -> int:
    return client.get(f"/patients/{patient_id}", headers=account.headers).status_code


@pytest.fixture
def er(factory, doctor_account):
    """A doctor, a stranger to them (a patient with a login), and their own patient."""
    account, doctor = doctor_account
    own = factory.patient(first_name="Own")
    factory.appointment(patient_id=own["id"], doctor_id=doctor["id"])
    return account, doctor, own


@pytest.fixture
def stranger(patient_account):
    return patient_account


def plant_grant(app, *, patient_id, doctor_id, user_id, starts, expires) -> int:
    """A grant stored as given (an insert is all the table allows): one in the past."""
    with app.app_context():
        grant = EmergencyAccess(
            patient_id=patient_id,
            doctor_id=doctor_id,
            reason=REASON,
            starts_at=starts,
            expires_at=expires,
            created_by=user_id,
        )
        db.session.add(grant)
        db.session.commit()
        return grant.id


# --- the grant ---------------------------------------------------------------------------


def test_a_grant_opens_the_patient_for_the_window(client, app, er, stranger):
    account, doctor, own = er
    _, patient = stranger
    assert reads_patient(client, account, patient["id"]) == 404

    response = request_access(client, account, patient["mrn"])

    assert response.status_code == 201
    grant = response.get_json()
    assert response.headers["Location"].endswith(f"/emergency-access/{grant['id']}")
    assert (grant["patient_id"], grant["doctor_id"]) == (patient["id"], doctor["id"])
    assert grant["reason"] == REASON and grant["ended_at"] is None
    starts = datetime.fromisoformat(grant["starts_at"])
    assert datetime.fromisoformat(grant["expires_at"]) - starts == timedelta(minutes=240)
    assert abs(datetime.now(UTC) - starts) < timedelta(minutes=1)

    assert reads_patient(client, account, patient["id"]) == 200
    assert sorted(ids(client.get("/patients", headers=account.headers))) == sorted(
        [own["id"], patient["id"]]
    )
    record = client.post(
        f"/patients/{patient['id']}/records",
        json={"diagnosis": "Anaphylaxis"},
        headers=account.headers,
    )
    assert record.status_code == 201
    listed = client.get(f"/patients/{patient['id']}/records", headers=account.headers)
    assert ids(listed) == [record.get_json()["id"]]


def test_the_window_is_a_setting(client, app, er, stranger, monkeypatch):
    account, _, _ = er
    monkeypatch.setitem(app.config, "MEDITRACK_EMERGENCY_ACCESS_MINUTES", 5)
    grant = granted(client, account, stranger[1]["mrn"])
    window = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(
        grant["starts_at"]
    )
    assert window == timedelta(minutes=5)


def test_the_setting_is_checked_at_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("MEDITRACK_EMERGENCY_ACCESS_MINUTES", raising=False)
    assert settings.load(tmp_path)["MEDITRACK_EMERGENCY_ACCESS_MINUTES"] == 240
    monkeypatch.setenv("MEDITRACK_EMERGENCY_ACCESS_MINUTES", "30")
    assert settings.load(tmp_path)["MEDITRACK_EMERGENCY_ACCESS_MINUTES"] == 30
    for value in ("0", "-5", "soon", "1441"):
        monkeypatch.setenv("MEDITRACK_EMERGENCY_ACCESS_MINUTES", value)
        with pytest.raises(settings.ConfigError, match="MEDITRACK_EMERGENCY_ACCESS_MINUTES"):
            settings.load(tmp_path)


def test_an_expired_grant_gives_nothing(client, app, er, stranger):
    account, doctor, _ = er
    _, patient = stranger
    now = datetime.now(UTC)
    grant_id = plant_grant(
        app,
        patient_id=patient["id"],
        doctor_id=doctor["id"],
        user_id=account.id,
        starts=now - timedelta(hours=5),
        expires=now - timedelta(seconds=1),
    )
    watch = Watch(app)
    assert reads_patient(client, account, patient["id"]) == 404
    assert patient["id"] not in ids(client.get("/patients", headers=account.headers))
    assert {e["emergency_access_id"] for e in watch.events()} == {None}
    ended = client.post(f"/emergency-access/{grant_id}/end", headers=account.headers)
    assert_problem(ended, 409, "conflict")


@pytest.mark.parametrize("mrn", ["0000000000", "missing", " {mrn}", "{mrn}0"])
def test_no_exact_match_is_404_and_a_denied_event(client, app, er, stranger, mrn):
    account, _, _ = er
    watch = Watch(app)
    response = request_access(client, account, mrn.format(mrn=stranger[1]["mrn"]))
    assert_problem(response, 404, "not_found")
    assert count_rows(app, "emergency_access") == 0
    assert [(e["action"], e["outcome"], e["actor_id"]) for e in watch.events()] == [
        ("emergency_access", "denied", account.id)
    ]


def test_an_archived_patient_matches_no_one(client, app, admin, er, stranger):
    account, _, _ = er
    _, patient = stranger
    assert client.delete(f"/patients/{patient['id']}", headers=admin.headers).status_code == 204
    assert_problem(request_access(client, account, patient["mrn"]), 404, "not_found")


@pytest.mark.parametrize("reason", ["", "Too short", " " * 10 + "x" * 19 + " " * 10, None])
def test_a_reason_has_at_least_20_characters(client, app, er, stranger, reason):
    account, _, _ = er
    response = request_access(client, account, stranger[1]["mrn"], reason)
    assert_problem(response, 422, "validation_error", "reason")
    assert count_rows(app, "emergency_access") == 0


def test_server_fields_are_not_sent(client, app, er, stranger):
    account, _, _ = er
    body = {"mrn": stranger[1]["mrn"], "reason": REASON, "expires_at": "2099-01-01T00:00:00Z"}
    response = client.post("/emergency-access", json=body, headers=account.headers)
    assert_problem(response, 422, "validation_error", "expires_at")
    assert count_rows(app, "emergency_access") == 0


@pytest.mark.parametrize("role", ["admin", "receptionist", "patient"])
def test_only_doctors_break_the_glass(client, app, make_account, stranger, role):
    caller = stranger[0] if role == "patient" else make_account(role)
    assert_problem(request_access(client, caller, stranger[1]["mrn"]), 403, "forbidden")
    assert count_rows(app, "emergency_access") == 0


def test_a_doctor_login_without_a_doctor_record_is_refused(client, app, make_account, stranger):
    assert_problem(
        request_access(client, make_account("doctor"), stranger[1]["mrn"]), 403, "forbidden"
    )


# --- audit -------------------------------------------------------------------------------


def test_the_grant_and_every_access_under_it_are_marked(client, app, er, stranger):
    account, _, own = er
    _, patient = stranger
    watch = Watch(app)
    grant = granted(client, account, patient["mrn"])
    client.get(f"/patients/{patient['id']}", headers=account.headers)
    client.get(f"/patients/{own['id']}", headers=account.headers)
    client.get("/patients", headers=account.headers)

    shapes = [
        (e["action"], e["resource_type"], e["patient_id"], e["emergency_access_id"])
        for e in watch.events()
    ]
    assert shapes[:3] == [
        ("emergency_access", "emergency_access", patient["id"], grant["id"]),
        ("read", "patient", patient["id"], grant["id"]),
        ("read", "patient", own["id"], None),
    ]
    assert sorted(shapes[3:], key=lambda s: s[2]) == sorted(
        [("list", "patient", patient["id"], grant["id"]), ("list", "patient", own["id"], None)],
        key=lambda s: s[2],
    )


def test_the_patient_sees_the_grant_in_their_access_log(client, app, er, stranger):
    account, _, _ = er
    login, patient = stranger
    grant = granted(client, account, patient["mrn"])
    client.get(f"/patients/{patient['id']}", headers=account.headers)

    log = client.get(f"/patients/{patient['id']}/access-log", headers=login.headers)

    assert log.status_code == 200
    shapes = [(e["action"], e["actor_id"], e["emergency_access_id"]) for e in log.get_json()]
    assert ("emergency_access", account.id, grant["id"]) in shapes
    assert ("read", account.id, grant["id"]) in shapes


# --- reading and ending grants -------------------------------------------------------------


def test_who_reads_a_grant(client, app, admin, make_account, factory, receptionist, er, stranger):
    account, _, _ = er
    login, patient = stranger
    grant = granted(client, account, patient["mrn"])
    other = make_account("doctor")
    factory.doctor(user_id=other.id)
    path = f"/emergency-access/{grant['id']}"
    watch = Watch(app)

    for caller in (admin, account):
        response = client.get(path, headers=caller.headers)
        assert response.status_code == 200
        assert response.get_json() == grant
    assert_problem(client.get(path, headers=other.headers), 404, "not_found")
    assert_problem(
        client.get("/emergency-access/999999", headers=account.headers), 404, "not_found"
    )
    for caller in (receptionist, login):
        assert_problem(client.get(path, headers=caller.headers), 403, "forbidden")

    reads = [(e["actor_id"], e["action"], e["outcome"], e["patient_id"]) for e in watch.events()]
    assert reads[:2] == [
        (admin.id, "read", "success", patient["id"]),
        (account.id, "read", "success", patient["id"]),
    ]
    assert (other.id, "read", "denied", patient["id"]) in reads


@pytest.mark.parametrize("by", ["doctor", "admin"])
def test_a_grant_ends_early(client, app, admin, er, stranger, by):
    account, _, _ = er
    _, patient = stranger
    grant = granted(client, account, patient["mrn"])
    caller = account if by == "doctor" else admin

    response = client.post(f"/emergency-access/{grant['id']}/end", headers=caller.headers)

    assert response.status_code == 200
    ended = response.get_json()
    assert ended["ended_by"] == caller.id and ended["ended_at"] is not None
    assert {k: v for k, v in ended.items() if k not in ("ended_at", "ended_by")} == {
        k: v for k, v in grant.items() if k not in ("ended_at", "ended_by")
    }
    assert reads_patient(client, account, patient["id"]) == 404
    again = client.post(f"/emergency-access/{grant['id']}/end", headers=caller.headers)
    assert_problem(again, 409, "conflict")
    stored = client.get(f"/emergency-access/{grant['id']}", headers=admin.headers).get_json()
    assert stored == ended


def test_another_doctor_cannot_end_a_grant(client, make_account, factory, er, stranger):
    account, _, _ = er
    grant = granted(client, account, stranger[1]["mrn"])
    other = make_account("doctor")
    factory.doctor(user_id=other.id)
    response = client.post(f"/emergency-access/{grant['id']}/end", headers=other.headers)
    assert_problem(response, 404, "not_found")
    assert reads_patient(client, account, stranger[1]["id"]) == 200


def test_the_admin_lists_grants_with_filters(client, app, admin, factory, er, stranger):
    account, doctor, own = er
    _, patient = stranger
    first = granted(client, account, patient["mrn"])
    second = granted(client, account, own["mrn"])
    client.post(f"/emergency-access/{second['id']}/end", headers=account.headers)
    today = datetime.now(UTC).date().isoformat()

    def listed(**query):
        response = client.get("/emergency-access", query_string=query, headers=admin.headers)
        return response

    everything = listed()
    assert ids(everything) == [second["id"], first["id"]]  # newest first
    assert everything.headers["X-Total-Count"] == "2"
    assert ids(listed(sort="starts_at")) == [first["id"], second["id"]]
    assert ids(listed(patient_id=patient["id"])) == [first["id"]]
    assert ids(listed(doctor_id=doctor["id"], active="true")) == [first["id"]]
    assert ids(listed(active="false")) == [second["id"]]
    assert ids(listed(**{"from": today, "to": today})) == [second["id"], first["id"]]
    assert ids(listed(to="2000-01-01")) == []
    assert ids(listed(per_page=1, page=2)) == [first["id"]]
    assert_problem(listed(doctor_id=999_999), 422, "validation_error", "doctor_id")
    assert_problem(listed(patient_id=999_999), 422, "validation_error", "patient_id")
    assert_problem(listed(active="maybe"), 422, "validation_error", "active")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_api_offers_no_edit_or_delete(client, admin, er, stranger, method):
    account, _, _ = er
    grant = granted(client, account, stranger[1]["mrn"])
    for caller in (admin, account):
        response = client.open(
            f"/emergency-access/{grant['id']}",
            method=method,
            json={"reason": "x" * 30},
            headers=caller.headers,
        )
        assert_problem(response, 405, "method_not_allowed")
    stored = client.get(f"/emergency-access/{grant['id']}", headers=admin.headers).get_json()
    assert stored == grant


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE emergency_access SET reason = 'Nothing to see here, honestly'",
        "UPDATE emergency_access SET expires_at = starts_at",
        "UPDATE emergency_access SET ended_at = NULL",
        "DELETE FROM emergency_access",
    ],
)
def test_the_database_refuses_to_change_or_remove_a_grant(
    client, app, admin, er, stranger, statement
):
    account, _, _ = er
    grant = granted(client, account, stranger[1]["mrn"])
    if "ended_at = NULL" in statement:  # an ended grant cannot be reopened
        client.post(f"/emergency-access/{grant['id']}/end", headers=account.headers)
    before = client.get(f"/emergency-access/{grant['id']}", headers=admin.headers).get_json()
    with app.app_context(), pytest.raises(DBAPIError, match=REFUSAL), db.engine.begin() as conn:
        conn.execute(text(statement))
    after = client.get(f"/emergency-access/{grant['id']}", headers=admin.headers).get_json()
    assert after == before


def test_the_database_lets_a_grant_end_once(app, client, er, stranger):
    account, _, _ = er
    grant = granted(client, account, stranger[1]["mrn"])
    ending = "UPDATE emergency_access SET ended_at = expires_at, ended_by = created_by"
    with app.app_context():
        with db.engine.begin() as conn:
            assert conn.execute(text(ending)).rowcount == 1
        with pytest.raises(DBAPIError, match=REFUSAL), db.engine.begin() as conn:
            conn.execute(text(ending))
    assert grant["id"]
