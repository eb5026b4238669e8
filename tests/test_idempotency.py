"""Idempotency-Key on POST /appointments: replays, mismatches, owners, expiry, bad keys."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from meditrack.extensions import db
from tests.api_helpers import assert_problem
from tests.audit_helpers import last_event_id, stored_events
from tests.conftest import count_rows
from tests.scheduling_helpers import MONDAY, at, book, future, next_weekday, set_working_hours

KEY = "booking-7f3a9c"


@pytest.fixture
def doctor(factory):
    return factory.doctor()


@pytest.fixture
def patient(factory):
    return factory.patient()


@pytest.fixture
def body(doctor, patient):
    return {
        "patient_id": patient["id"],
        "doctor_id": doctor["id"],
        "start_time": future(clock="10:00"),
        "reason": "Check-up",
    }


def post(client, account, body, key=KEY):
    return book(client, account, headers={"Idempotency-Key": key}, **body)


def same_answer(first, second) -> None:
    """`second` replays `first`: status, body, Location, marked as replayed."""
    assert second.status_code == first.status_code
    assert second.get_data() == first.get_data()
    assert second.mimetype == first.mimetype
    assert second.headers.get("Location") == first.headers.get("Location")
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def age_keys(app, hours: float) -> None:
    """Pretend every stored key was first used `hours` ago."""
    with app.app_context():
        db.session.execute(
            text("UPDATE idempotency_records SET created_at = :t"),
            {"t": datetime.now(UTC) - timedelta(hours=hours)},
        )
        db.session.commit()


def test_the_same_key_and_body_replay_the_first_answer(client, app, receptionist, body):
    first = post(client, receptionist, body)
    assert first.status_code == 201, first.get_json()

    second = post(client, receptionist, body)
    third = post(client, receptionist, dict(reversed(body.items())))  # key order is no matter

    for replay in (second, third):
        same_answer(first, replay)
        assert replay.get_json()["id"] == first.get_json()["id"]
    assert first.headers["Location"].endswith(f"/appointments/{first.get_json()['id']}")
    assert count_rows(app, "appointments") == 1
    assert count_rows(app, "appointment_events") == 1
    assert count_rows(app, "idempotency_records") == 1


def test_a_replay_is_the_first_answer_even_after_changes(client, app, admin, body):
    first = post(client, admin, body)
    appointment_id = first.get_json()["id"]
    cancel = {"status": "cancelled", "cancellation_reason": "Changed plans"}
    response = client.patch(f"/appointments/{appointment_id}", json=cancel, headers=admin.headers)
    assert response.status_code == 200

    replay = post(client, admin, body)

    same_answer(first, replay)
    assert replay.get_json()["status"] == "scheduled"
    assert count_rows(app, "appointments") == 1


def test_without_a_key_each_post_is_new(client, app, admin, body):
    assert book(client, admin, **body).status_code == 201
    assert_problem(book(client, admin, **body), 409, "appointment_conflict")
    assert count_rows(app, "idempotency_records") == 0


@pytest.fixture
def blocker(factory, body):
    """Another patient's appointment with the same doctor at the same time."""
    return factory.appointment(
        patient_id=factory.patient()["id"], doctor_id=body["doctor_id"], start=body["start_time"]
    )


def test_a_conflict_replays_even_after_the_time_is_freed(client, app, admin, body, blocker):
    first = post(client, admin, body)
    assert_problem(first, 409, "appointment_conflict")

    response = client.delete(f"/appointments/{blocker}", headers=admin.headers)
    assert response.status_code == 204

    replay = post(client, admin, body)

    same_answer(first, replay)
    assert count_rows(app, "appointments") == 1
    # a new key books the freed time
    assert post(client, admin, body, key="another-key").status_code == 201
    assert count_rows(app, "appointments") == 2


def test_a_refusal_replays_even_after_its_cause_is_gone(client, app, admin, body, doctor):
    monday = next_weekday(MONDAY)
    set_working_hours(client, admin, doctor["id"], (MONDAY, "09:00", "12:00"))
    body = {**body, "start_time": at(monday, "14:00")}
    first = post(client, admin, body)
    assert_problem(first, 422, "outside_working_hours")

    set_working_hours(client, admin, doctor["id"], (MONDAY, "09:00", "17:00"))
    replay = post(client, admin, body)

    same_answer(first, replay)
    assert count_rows(app, "appointments") == 0
    assert post(client, admin, body, key="another-key").status_code == 201


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"start_time": "yesterday"}, 422, "validation_error"),  # refused by the schema
        ({"id": 5}, 422, "validation_error"),
        ({"doctor_id": 987654}, 422, "validation_error"),  # refused by the service
    ],
)
def test_validation_errors_replay(client, app, admin, body, change, status, code):
    sent = {**body, **change}
    first = post(client, admin, sent)
    assert_problem(first, status, code)

    same_answer(first, post(client, admin, sent))
    assert count_rows(app, "appointments") == 0
    assert count_rows(app, "idempotency_records") == 1


def test_a_forbidden_booking_replays(client, app, patient_account, body):
    account, _ = patient_account  # booking for another patient
    first = post(client, account, body)
    assert_problem(first, 403, "forbidden")
    same_answer(first, post(client, account, body))


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "Something else"},
        {"start_time": future(days=8, clock="10:00")},
        {"duration_minutes": 30},
        {"reason": None},
    ],
)
def test_the_same_key_with_another_body_is_a_mismatch(client, app, admin, body, change):
    first = post(client, admin, body)
    assert first.status_code == 201

    response = post(client, admin, {**body, **change})

    assert_problem(response, 422, "idempotency_mismatch")
    assert "Idempotent-Replayed" not in response.headers
    assert count_rows(app, "appointments") == 1
    same_answer(first, post(client, admin, body))  # the original still replays


def test_the_same_key_from_another_user_is_a_new_request(client, app, admin, receptionist, body):
    assert post(client, admin, body).status_code == 201

    theirs = post(client, receptionist, body)  # not a replay: the slot is taken now

    assert_problem(theirs, 409, "appointment_conflict")
    assert "Idempotent-Replayed" not in theirs.headers
    assert count_rows(app, "appointments") == 1
    assert count_rows(app, "idempotency_records") == 2


def test_another_users_key_with_another_body_is_no_mismatch(client, app, admin, receptionist, body):
    assert post(client, admin, body).status_code == 201

    theirs = post(client, receptionist, {**body, "start_time": future(days=8)})

    assert theirs.status_code == 201, theirs.get_json()
    assert theirs.get_json()["created_by"] == receptionist.id
    assert count_rows(app, "appointments") == 2


def test_a_key_is_remembered_for_24_hours(client, app, admin, body):
    first = post(client, admin, body)
    age_keys(app, 23.9)

    same_answer(first, post(client, admin, body))
    assert count_rows(app, "appointments") == 1


def test_a_key_older_than_24_hours_is_forgotten(client, app, admin, body):
    assert post(client, admin, body).status_code == 201
    age_keys(app, 24.1)

    later = {**body, "start_time": future(days=8)}
    again = post(client, admin, later)  # another body, yet no mismatch: a new booking

    assert again.status_code == 201, again.get_json()
    assert "Idempotent-Replayed" not in again.headers
    assert count_rows(app, "appointments") == 2
    assert count_rows(app, "idempotency_records") == 1
    same_answer(again, post(client, admin, later))  # the key now holds the new answer


def test_an_expired_key_with_the_same_body_is_answered_afresh(client, app, admin, body):
    assert post(client, admin, body).status_code == 201
    age_keys(app, 24.1)

    again = post(client, admin, body)

    assert_problem(again, 409, "appointment_conflict")  # the first booking holds the time
    assert "Idempotent-Replayed" not in again.headers
    assert count_rows(app, "appointments") == 1


@pytest.mark.parametrize(
    "key",
    ["x" * 256, "two words", "", " leading", "tab\there", "caf\u00e9"],
)
def test_a_malformed_key_is_refused(client, app, admin, body, key):
    response = post(client, admin, body, key=key)

    assert_problem(response, 422, "validation_error", "Idempotency-Key")
    assert count_rows(app, "appointments") == 0
    assert count_rows(app, "idempotency_records") == 0


@pytest.mark.parametrize("key", ["x" * 255, "a", "550e8400-e29b-41d4-a716-446655440000", "~!@#"])
def test_well_formed_keys_are_accepted(client, app, admin, body, key):
    first = post(client, admin, body, key=key)
    assert first.status_code == 201, first.get_json()
    same_answer(first, post(client, admin, body, key=key))


def test_a_key_without_a_login_is_not_stored(client, app, body):
    sent = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}
    response = client.post("/appointments", json=sent, headers={"Idempotency-Key": KEY})
    assert_problem(response, 401, "unauthorized")
    assert count_rows(app, "idempotency_records") == 0


def test_the_collection_with_a_trailing_slash_is_the_same_request(client, app, admin, body):
    first = post(client, admin, body)
    sent = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}

    replay = client.post(
        "/appointments/", json=sent, headers={**admin.headers, "Idempotency-Key": KEY}
    )

    same_answer(first, replay)
    assert count_rows(app, "appointments") == 1


# --- the audit trail of keyed requests and their replays ------------------------------


def events_of(app, after: int) -> list[tuple]:
    return [
        (e["action"], e["resource_type"], e["resource_id"], e["patient_id"], e["outcome"])
        for e in stored_events(app, after)
    ]


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_a_refused_booking_is_a_denied_event_with_or_without_a_key(
    client, app, patient_account, body, keyed
):
    account, _ = patient_account  # booking for another patient
    before = last_event_id(app)
    response = post(client, account, body) if keyed else book(client, account, **body)

    assert_problem(response, 403, "forbidden")
    assert events_of(app, before) == [("create", "appointment", None, None, "denied")]
    assert count_rows(app, "appointments") == 0


def test_a_replayed_refusal_is_denied_again(client, app, patient_account, body):
    account, _ = patient_account
    post(client, account, body)
    before = last_event_id(app)

    replay = post(client, account, body)

    assert_problem(replay, 403, "forbidden")
    assert events_of(app, before) == [("create", "appointment", None, None, "denied")]


def test_a_replayed_booking_is_a_read_of_what_it_shows(client, app, receptionist, body):
    first = post(client, receptionist, body)
    appointment_id = first.get_json()["id"]
    before = last_event_id(app)

    replay = post(client, receptionist, body)

    assert replay.get_json()["patient"]["mrn"] == first.get_json()["patient"]["mrn"]
    assert events_of(app, before) == [
        ("read", "appointment", appointment_id, body["patient_id"], "success")
    ]
    assert stored_events(app, before)[0]["actor_id"] == receptionist.id


def test_a_replayed_validation_error_shows_nothing_and_records_nothing(
    client, app, receptionist, body
):
    bad = {**body, "duration_minutes": 1}
    assert post(client, receptionist, bad).status_code == 422
    before = last_event_id(app)
    assert post(client, receptionist, bad).status_code == 422
    assert events_of(app, before) == []
