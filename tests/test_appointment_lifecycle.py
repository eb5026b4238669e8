"""After booking: moves, the status lifecycle by role, history, archiving and restoring."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api_helpers import assert_problem, ids
from tests.conftest import count_rows
from tests.scheduling_helpers import (
    APPOINTMENT_FIELDS,
    MONDAY,
    appointment_row,
    at,
    book,
    booked,
    event_count,
    future,
    next_weekday,
    set_working_hours,
    stamp,
)

STATUSES = ("scheduled", "checked_in", "completed", "cancelled", "no_show")
ROLES = ("admin", "receptionist", "doctor", "patient")
#: (from, to) -> the roles that may make that change
ALLOWED = {
    ("scheduled", "checked_in"): {"admin", "receptionist", "doctor"},
    ("scheduled", "cancelled"): {"admin", "receptionist", "doctor", "patient"},
    ("scheduled", "no_show"): {"admin", "receptionist", "doctor"},
    ("checked_in", "completed"): {"admin", "doctor"},
}
REFUSED = [(old, new) for old in STATUSES for new in STATUSES if (old, new) not in ALLOWED]
HISTORY_FIELDS = {"status", "changed_at", "changed_by", "reason", "start_time", "end_time"}


@pytest.fixture
def accounts(admin, receptionist, doctor_account, patient_account):
    """One login per role; the doctor and the patient are those of `appointment`."""
    return {
        "admin": admin,
        "receptionist": receptionist,
        "doctor": doctor_account[0],
        "patient": patient_account[0],
    }


@pytest.fixture
def my_doctor(doctor_account):
    return doctor_account[1]


@pytest.fixture
def me(patient_account):
    return patient_account[1]


@pytest.fixture
def appointment(client, admin, my_doctor, me):
    """A 45-minute appointment of `me` with `my_doctor` a week ahead, booked by the admin."""
    return booked(
        client,
        admin,
        patient_id=me["id"],
        doctor_id=my_doctor["id"],
        start_time=future(clock="10:00"),
        duration_minutes=45,
        reason="Cough",
        notes="Seen in May.",
    )


def update(client, account, appointment_id, body, method="patch", headers=None):
    body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}
    return client.open(
        f"/appointments/{appointment_id}",
        method=method.upper(),
        json=body,
        headers={**account.headers, **(headers or {})},
    )


def history(client, account, appointment_id):
    return client.get(f"/appointments/{appointment_id}/history", headers=account.headers)


def in_state(factory, patient, doctor, status, *, start=None) -> int:
    """An appointment inserted in `status`; a past start when it is to become a no-show."""
    return factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], status=status, start=start
    )


# --- moves ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_sending_only_the_start_keeps_the_length(client, app, receptionist, appointment, method):
    new_start = future(days=9, clock="14:00")

    response = update(client, receptionist, appointment["id"], {"start_time": new_start}, method)

    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert set(moved) == APPOINTMENT_FIELDS
    assert moved["id"] == appointment["id"]
    assert moved["start_time"] == stamp(new_start)
    assert moved["end_time"] == stamp(new_start + timedelta(minutes=45))
    assert moved["duration_minutes"] == 45
    unchanged = ("patient", "doctor", "department_id", "reason", "notes", "status", "created_by")
    assert {k: moved[k] for k in unchanged} == {k: appointment[k] for k in unchanged}
    row = appointment_row(app, appointment["id"])
    assert (row["start_time"], row["end_time"]) == (new_start, new_start + timedelta(minutes=45))
    assert event_count(app, appointment["id"]) == 2
    assert count_rows(app, "appointments") == 1


@pytest.mark.parametrize(
    ("change", "start_shift", "minutes"),
    [
        ({"duration_minutes": 20}, 0, 20),  # a new length, the same start
        ({"end_time": 60}, 0, 60),
        ({"start_time": 120, "duration_minutes": 15}, 120, 15),
        ({"start_time": 120, "end_time": 150}, 120, 30),
    ],
)
def test_moving_with_a_new_length(client, admin, appointment, change, start_shift, minutes):
    start = datetime.fromisoformat(appointment["start_time"])
    body = {
        name: start + timedelta(minutes=value) if name.endswith("_time") else value
        for name, value in change.items()
    }

    moved = update(client, admin, appointment["id"], body).get_json()

    new_start = start + timedelta(minutes=start_shift)
    assert moved["start_time"] == stamp(new_start)
    assert moved["end_time"] == stamp(new_start + timedelta(minutes=minutes))
    assert moved["duration_minutes"] == minutes


def test_moving_to_another_doctor_takes_their_department(client, app, admin, factory, appointment):
    department = factory.department()
    other = factory.doctor(department_id=department["id"])

    response = update(client, admin, appointment["id"], {"doctor_id": other["id"]}, "put")

    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["doctor_id"] == other["id"]
    assert moved["department_id"] == department["id"]
    assert moved["doctor"] == {
        "id": other["id"],
        "first_name": other["first_name"],
        "last_name": other["last_name"],
        "specialization": other["specialization"],
    }
    assert moved["start_time"] == appointment["start_time"]
    assert moved["end_time"] == appointment["end_time"]
    row = appointment_row(app, appointment["id"])
    assert (row["doctor_id"], row["department_id"]) == (other["id"], department["id"])
    assert client.get(f"/appointments/{moved['id']}", headers=admin.headers).get_json() == moved


@pytest.mark.parametrize("how", ["inactive", "archived"])
def test_moving_to_a_doctor_who_takes_no_bookings_is_refused(
    client, app, admin, factory, appointment, how
):
    other = factory.doctor()
    if how == "inactive":
        response = client.patch(
            f"/doctors/{other['id']}", json={"is_active": False}, headers=admin.headers
        )
        assert response.status_code == 200
    else:
        assert client.delete(f"/doctors/{other['id']}", headers=admin.headers).status_code == 204
    before = appointment_row(app, appointment["id"])

    response = update(client, admin, appointment["id"], {"doctor_id": other["id"]})

    assert_problem(response, 422, "validation_error", "doctor_id")
    assert appointment_row(app, appointment["id"]) == before


@pytest.mark.parametrize("status", ["checked_in", "completed", "cancelled", "no_show"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_only_scheduled_appointments_move(
    client, app, admin, factory, me, my_doctor, status, method
):
    appointment_id = in_state(factory, me, my_doctor, status)
    before = appointment_row(app, appointment_id)

    response = update(client, admin, appointment_id, {"start_time": future(days=12)}, method=method)

    assert_problem(response, 422, "invalid_transition")
    assert appointment_row(app, appointment_id) == before


@pytest.fixture
def neighbours(factory, my_doctor, me, appointment):
    """The doctor busy (with someone else) at 13:00 and the patient busy (elsewhere) at 15:00,
    the same day as `appointment`."""
    day = datetime.fromisoformat(appointment["start_time"]).date()
    factory.appointment(
        patient_id=factory.patient()["id"], doctor_id=my_doctor["id"], start=at(day, "13:00")
    )
    factory.appointment(
        patient_id=me["id"], doctor_id=factory.doctor()["id"], start=at(day, "15:00")
    )
    return day


@pytest.mark.parametrize(
    ("clock", "conflict"),
    [("12:30", "13:00"), ("13:15", "13:00"), ("14:30", "15:00"), ("15:00", "15:00")],
)
def test_a_move_onto_busy_time_is_a_conflict(
    client, app, admin, appointment, neighbours, clock, conflict
):
    before = appointment_row(app, appointment["id"])

    response = update(client, admin, appointment["id"], {"start_time": at(neighbours, clock)})

    problem = assert_problem(response, 409, "appointment_conflict")
    busy = at(neighbours, conflict)
    assert problem["conflicts"] == [
        {"start_time": stamp(busy), "end_time": stamp(busy + timedelta(minutes=30))}
    ]
    assert appointment_row(app, appointment["id"]) == before
    assert event_count(app, appointment["id"]) == 1


@pytest.mark.parametrize("clock", ["12:15", "13:30", "14:15", "15:30"])
def test_a_move_next_to_busy_time_is_fine(client, admin, appointment, neighbours, clock):
    response = update(client, admin, appointment["id"], {"start_time": at(neighbours, clock)})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("shift", [timedelta(0), timedelta(minutes=15), timedelta(minutes=-30)])
def test_its_own_old_slot_never_conflicts(client, admin, appointment, shift):
    start = datetime.fromisoformat(appointment["start_time"]) + shift

    response = update(client, admin, appointment["id"], {"start_time": start})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["start_time"] == stamp(start)


NOW = object()  # stands for the current time in the parameters below


@pytest.mark.parametrize(
    ("name", "base", "shift", "field"),
    [
        ("start_time", NOW, timedelta(hours=-1), "start_time"),
        ("start_time", NOW, timedelta(0), "start_time"),
        ("start_time", NOW, timedelta(days=3 * 365), "start_time"),
        ("end_time", "start_time", timedelta(minutes=4), "end_time"),
        ("end_time", "start_time", timedelta(minutes=-15), "end_time"),
        ("duration_minutes", None, 481, "duration_minutes"),
        ("duration_minutes", None, 4, "duration_minutes"),
        ("doctor_id", None, 987654, "doctor_id"),
    ],
)
def test_a_move_follows_the_booking_rules(
    client, app, admin, appointment, name, base, shift, field
):
    if base is NOW:
        value = datetime.now(UTC).replace(microsecond=0) + shift
    elif base is not None:
        value = datetime.fromisoformat(appointment[base]) + shift
    else:
        value = shift
    before = appointment_row(app, appointment["id"])

    response = update(client, admin, appointment["id"], {name: value})

    assert_problem(response, 422, "validation_error", field)
    assert appointment_row(app, appointment["id"]) == before
    assert event_count(app, appointment["id"]) == 1


def test_a_move_respects_working_hours(client, app, admin, my_doctor, me):
    set_working_hours(client, admin, my_doctor["id"], (MONDAY, "09:00", "17:00"))
    monday = next_weekday(MONDAY)
    appointment = booked(
        client,
        admin,
        patient_id=me["id"],
        doctor_id=my_doctor["id"],
        start_time=at(monday, "10:00"),
        duration_minutes=45,
    )

    for start in (
        at(monday, "16:30"),
        at(monday, "08:30"),
        at(monday + timedelta(days=1), "10:00"),
    ):
        response = update(client, admin, appointment["id"], {"start_time": start})
        assert_problem(response, 422, "outside_working_hours")
    assert appointment_row(app, appointment["id"])["start_time"] == at(monday, "10:00")

    response = update(client, admin, appointment["id"], {"start_time": at(monday, "16:15")})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["end_time"] == stamp(at(monday, "17:00"))


def test_a_move_into_time_off_is_refused(client, app, admin, factory, my_doctor, appointment):
    off = factory.time_off(my_doctor["id"], days_ahead=10, hours=4)
    before = appointment_row(app, appointment["id"])

    response = update(
        client, admin, appointment["id"], {"start_time": datetime.fromisoformat(off["start_time"])}
    )

    assert_problem(response, 422, "outside_working_hours")
    assert appointment_row(app, appointment["id"]) == before


@pytest.mark.parametrize("role", ["admin", "receptionist", "doctor"])
def test_reason_and_notes_are_edited_without_a_history_entry(
    client, app, accounts, appointment, role
):
    response = update(
        client, accounts[role], appointment["id"], {"reason": " Fever ", "notes": None}
    )

    assert response.status_code == 200, response.get_json()
    edited = response.get_json()
    assert (edited["reason"], edited["notes"]) == ("Fever", None)
    assert edited["start_time"] == appointment["start_time"]
    row = appointment_row(app, appointment["id"])
    assert (row["reason"], row["notes"]) == ("Fever", None)
    assert event_count(app, appointment["id"]) == 1


def test_a_patient_edits_the_reason_but_not_the_notes(client, app, accounts, appointment):
    patient = accounts["patient"]

    assert_problem(
        update(client, patient, appointment["id"], {"notes": "I feel fine"}), 403, "forbidden"
    )
    assert_problem(
        update(client, patient, appointment["id"], {"reason": "Back pain", "notes": "x"}),
        403,
        "forbidden",
    )
    assert appointment_row(app, appointment["id"])["reason"] == "Cough"

    response = update(client, patient, appointment["id"], {"reason": "Back pain"})
    assert response.status_code == 200, response.get_json()
    assert appointment_row(app, appointment["id"])["reason"] == "Back pain"
    assert appointment_row(app, appointment["id"])["notes"] == "Seen in May."


def test_a_doctor_moves_within_their_own_schedule_only(
    client, app, accounts, factory, appointment, my_doctor
):
    doctor = accounts["doctor"]
    other = factory.doctor()

    response = update(client, doctor, appointment["id"], {"doctor_id": other["id"]})
    assert_problem(response, 403, "forbidden")
    assert appointment_row(app, appointment["id"])["doctor_id"] == my_doctor["id"]

    new_start = future(days=8, clock="09:00")
    response = update(client, doctor, appointment["id"], {"start_time": new_start})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["start_time"] == stamp(new_start)


@pytest.mark.parametrize("role", ["doctor", "patient"])
def test_someone_elses_appointment_is_not_found(client, app, accounts, factory, role):
    stranger = factory.appointment(
        patient_id=factory.patient()["id"], doctor_id=factory.doctor()["id"]
    )
    before = appointment_row(app, stranger)

    response = update(client, accounts[role], stranger, {"reason": "Mine now"})

    assert_problem(response, 404, "not_found")
    assert appointment_row(app, stranger) == before


def test_if_match_guards_against_stale_writes(client, app, admin, appointment):
    path = f"/appointments/{appointment['id']}"
    etag = client.get(path, headers=admin.headers).headers["ETag"]

    stale = update(client, admin, appointment["id"], {"reason": "x"}, headers={"If-Match": '"0"'})
    assert_problem(stale, 412, "precondition_failed")
    assert appointment_row(app, appointment["id"])["reason"] == "Cough"

    fresh = update(client, admin, appointment["id"], {"reason": "y"}, headers={"If-Match": etag})
    assert fresh.status_code == 200, fresh.get_json()
    assert fresh.headers["ETag"] != etag

    again = update(client, admin, appointment["id"], {"reason": "z"}, headers={"If-Match": etag})
    assert_problem(again, 412, "precondition_failed")
    assert appointment_row(app, appointment["id"])["reason"] == "y"


# --- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "role"), [(old, new, role) for (old, new) in ALLOWED for role in ROLES]
)
def test_status_changes_by_role(client, app, accounts, factory, me, my_doctor, old, new, role):
    start = datetime.now(UTC) - timedelta(hours=1) if new == "no_show" else None
    appointment_id = in_state(factory, me, my_doctor, old, start=start)
    body = {"status": new}
    if new == "cancelled":
        body["cancellation_reason"] = "Feeling better"

    response = update(client, accounts[role], appointment_id, body)

    row = appointment_row(app, appointment_id)
    if role in ALLOWED[(old, new)]:
        assert response.status_code == 200, response.get_json()
        changed = response.get_json()
        assert changed["status"] == row["status"] == new
        assert changed["cancellation_reason"] == row["cancellation_reason"]
        assert row["cancellation_reason"] == body.get("cancellation_reason")
        entries = history(client, accounts["admin"], appointment_id).get_json()
        assert len(entries) == 1
        assert entries[0]["status"] == new
        assert entries[0]["changed_by"] == accounts[role].id
        assert entries[0]["reason"] == body.get("cancellation_reason")
    else:
        assert_problem(response, 403, "forbidden")
        assert row["status"] == old
        assert event_count(app, appointment_id) == 0


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_every_other_status_change_is_invalid(client, app, admin, factory, me, my_doctor, old, new):
    start = datetime.now(UTC) - timedelta(hours=1)  # late enough for a no-show
    appointment_id = in_state(factory, me, my_doctor, old, start=start)
    body = {"status": new}
    if new == "cancelled":
        body["cancellation_reason"] = "Feeling better"

    response = update(client, admin, appointment_id, body)

    assert_problem(response, 422, "invalid_transition")
    assert appointment_row(app, appointment_id)["status"] == old
    assert event_count(app, appointment_id) == 0


@pytest.mark.parametrize("role", ["admin", "receptionist", "doctor"])
def test_no_show_only_after_the_start(client, app, accounts, appointment, role):
    response = update(client, accounts[role], appointment["id"], {"status": "no_show"})

    assert_problem(response, 422, "invalid_transition")
    assert appointment_row(app, appointment["id"])["status"] == "scheduled"


def test_check_in_is_allowed_before_the_start(client, accounts, appointment):
    response = update(client, accounts["doctor"], appointment["id"], {"status": "checked_in"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "checked_in"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "cancelled"},
        {"status": "cancelled", "cancellation_reason": ""},
        {"status": "cancelled", "cancellation_reason": "  \n "},
        {"status": "cancelled", "cancellation_reason": None},
        {"status": "checked_in", "cancellation_reason": "Not a cancellation"},
        {"cancellation_reason": "No status"},
        {"status": "cancelled", "cancellation_reason": "x" * 10_001},
    ],
)
def test_the_cancellation_reason(client, app, admin, appointment, body):
    response = update(client, admin, appointment["id"], body)

    assert_problem(response, 422, "validation_error", "cancellation_reason")
    assert appointment_row(app, appointment["id"])["status"] == "scheduled"


@pytest.mark.parametrize("status", ["done", "SCHEDULED", "", None, 1, ["cancelled"]])
def test_an_unknown_status_is_a_validation_error(client, app, admin, appointment, status):
    response = update(client, admin, appointment["id"], {"status": status})

    assert_problem(response, 422, "validation_error", "status")
    assert appointment_row(app, appointment["id"])["status"] == "scheduled"


@pytest.mark.parametrize(
    "extra",
    [
        {"reason": "Fever"},
        {"notes": "x"},
        {"start_time": "2030-01-01T10:00:00Z"},
        {"duration_minutes": 15},
        {"doctor_id": 1},
    ],
)
def test_a_status_change_comes_alone(client, app, admin, appointment, extra):
    before = appointment_row(app, appointment["id"])

    response = update(client, admin, appointment["id"], {"status": "checked_in", **extra})

    assert_problem(response, 422, "validation_error", *extra)
    assert appointment_row(app, appointment["id"]) == before


def test_a_cancellation_frees_the_time(client, app, admin, accounts, factory, appointment):
    response = update(
        client,
        accounts["patient"],
        appointment["id"],
        {"status": "cancelled", "cancellation_reason": "Travelling"},
    )
    assert response.status_code == 200, response.get_json()

    again = book(
        client,
        admin,
        patient_id=appointment["patient_id"],
        doctor_id=appointment["doctor_id"],
        start_time=appointment["start_time"],
    )
    assert again.status_code == 201, again.get_json()
    assert count_rows(app, "appointments") == 2


# --- history -----------------------------------------------------------------------------


def test_history_holds_the_booking_then_each_move_and_status_change(
    client, admin, receptionist, accounts, appointment
):
    doctor = accounts["doctor"]
    start = datetime.fromisoformat(appointment["start_time"])
    moved_to = start + timedelta(days=1, hours=2)
    assert (
        update(client, receptionist, appointment["id"], {"start_time": moved_to}).status_code == 200
    )
    assert update(client, admin, appointment["id"], {"reason": "Edited"}).status_code == 200
    for status in ("checked_in", "completed"):
        assert update(client, doctor, appointment["id"], {"status": status}).status_code == 200

    response = history(client, admin, appointment["id"])

    assert response.status_code == 200
    entries = response.get_json()
    assert all(set(entry) == HISTORY_FIELDS for entry in entries)
    moved_end = stamp(moved_to + timedelta(minutes=45))
    assert [
        (e["status"], e["start_time"], e["end_time"], e["changed_by"], e["reason"]) for e in entries
    ] == [
        ("scheduled", appointment["start_time"], appointment["end_time"], admin.id, None),
        ("scheduled", stamp(moved_to), moved_end, receptionist.id, None),
        ("checked_in", stamp(moved_to), moved_end, doctor.id, None),
        ("completed", stamp(moved_to), moved_end, doctor.id, None),
    ]
    changed = [datetime.fromisoformat(e["changed_at"]) for e in entries]
    assert all(moment.utcoffset() is not None for moment in changed)
    assert changed == sorted(changed)


def test_history_of_a_cancellation_carries_its_reason(client, accounts, appointment):
    patient = accounts["patient"]
    body = {"status": "cancelled", "cancellation_reason": "Travelling"}
    assert update(client, patient, appointment["id"], body).status_code == 200

    entries = history(client, patient, appointment["id"]).get_json()

    assert [(e["status"], e["reason"], e["changed_by"]) for e in entries] == [
        ("scheduled", None, accounts["admin"].id),
        ("cancelled", "Travelling", patient.id),
    ]
    assert entries[1]["start_time"] == appointment["start_time"]


@pytest.mark.parametrize("role", ROLES)
def test_history_is_read_in_the_appointments_scope(client, accounts, factory, appointment, role):
    stranger = factory.appointment(
        patient_id=factory.patient()["id"], doctor_id=factory.doctor()["id"]
    )

    assert history(client, accounts[role], appointment["id"]).status_code == 200
    if role in ("doctor", "patient"):
        assert_problem(history(client, accounts[role], stranger), 404, "not_found")
    else:
        assert history(client, accounts[role], stranger).get_json() == []
    assert_problem(history(client, accounts[role], 987654), 404, "not_found")


# --- archive and restore -----------------------------------------------------------------------


def archive(client, account, appointment_id, headers=None):
    return client.delete(
        f"/appointments/{appointment_id}", headers={**account.headers, **(headers or {})}
    )


def restore(client, account, appointment_id):
    return client.post(f"/appointments/{appointment_id}/restore", headers=account.headers)


@pytest.mark.parametrize("role", ["admin", "receptionist"])
def test_staff_archive_and_the_time_becomes_free(client, app, accounts, appointment, role):
    staff = accounts[role]

    response = archive(client, staff, appointment["id"])

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(
        client.get(f"/appointments/{appointment['id']}", headers=staff.headers), 404, "not_found"
    )
    assert ids(client.get("/appointments", headers=staff.headers)) == []
    assert appointment_row(app, appointment["id"])["archived"] is True
    assert count_rows(app, "appointments") == 1
    assert_problem(archive(client, staff, appointment["id"]), 404, "not_found")

    again = booked(
        client,
        staff,
        patient_id=appointment["patient_id"],
        doctor_id=appointment["doctor_id"],
        start_time=appointment["start_time"],
    )
    assert again["start_time"] == appointment["start_time"]


@pytest.mark.parametrize("role", ["doctor", "patient"])
def test_doctors_and_patients_may_not_archive(client, app, accounts, appointment, role):
    assert_problem(archive(client, accounts[role], appointment["id"]), 403, "forbidden")
    assert appointment_row(app, appointment["id"])["archived"] is False


def test_archive_honours_if_match(client, app, admin, appointment):
    assert_problem(
        archive(client, admin, appointment["id"], headers={"If-Match": '"0"'}),
        412,
        "precondition_failed",
    )
    assert appointment_row(app, appointment["id"])["archived"] is False


def test_an_admin_restores_an_archived_appointment(client, app, accounts, appointment):
    admin = accounts["admin"]
    assert archive(client, admin, appointment["id"]).status_code == 204
    for role in ("receptionist", "doctor", "patient"):
        assert_problem(restore(client, accounts[role], appointment["id"]), 403, "forbidden")
    assert appointment_row(app, appointment["id"])["archived"] is True

    response = restore(client, admin, appointment["id"])

    assert response.status_code == 200, response.get_json()
    restored = response.get_json()
    assert set(restored) == APPOINTMENT_FIELDS
    assert {k: v for k, v in restored.items() if k != "updated_at"} == {
        k: v for k, v in appointment.items() if k != "updated_at"
    }
    assert appointment_row(app, appointment["id"])["archived"] is False
    fetched = client.get(f"/appointments/{appointment['id']}", headers=accounts["patient"].headers)
    assert fetched.status_code == 200


def test_restoring_into_time_taken_meanwhile_is_a_conflict(
    client, app, admin, factory, appointment
):
    assert archive(client, admin, appointment["id"]).status_code == 204
    start = datetime.fromisoformat(appointment["start_time"]) + timedelta(minutes=30)
    booked(
        client,
        admin,
        patient_id=factory.patient()["id"],
        doctor_id=appointment["doctor_id"],
        start_time=start,
    )

    response = restore(client, admin, appointment["id"])

    problem = assert_problem(response, 409, "appointment_conflict")
    assert problem["conflicts"] == [
        {"start_time": stamp(start), "end_time": stamp(start + timedelta(minutes=30))}
    ]
    assert appointment_row(app, appointment["id"])["archived"] is True


def test_a_cancelled_appointment_is_restored_even_when_its_time_is_taken(
    client, app, admin, appointment
):
    body = {"status": "cancelled", "cancellation_reason": "Moved away"}
    assert update(client, admin, appointment["id"], body).status_code == 200
    assert archive(client, admin, appointment["id"]).status_code == 204
    booked(
        client,
        admin,
        patient_id=appointment["patient_id"],
        doctor_id=appointment["doctor_id"],
        start_time=appointment["start_time"],
    )

    response = restore(client, admin, appointment["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"


def test_restoring_a_missing_appointment_is_not_found(client, admin):
    assert_problem(restore(client, admin, 987654), 404, "not_found")


def test_archiving_a_patient_cancels_their_future_appointments_with_history(
    client, app, admin, factory, me, my_doctor, appointment
):
    later = booked(
        client,
        admin,
        patient_id=me["id"],
        doctor_id=my_doctor["id"],
        start_time=future(days=20),
    )
    past = in_state(
        factory, me, my_doctor, "scheduled", start=datetime.now(UTC) - timedelta(days=1)
    )
    someone_elses = booked(
        client,
        admin,
        patient_id=factory.patient()["id"],
        doctor_id=my_doctor["id"],
        start_time=future(days=21),
    )

    assert client.delete(f"/patients/{me['id']}", headers=admin.headers).status_code == 204

    for cancelled in (appointment, later):
        entries = history(client, admin, cancelled["id"]).get_json()
        assert [e["status"] for e in entries] == ["scheduled", "cancelled"]
        assert entries[1]["changed_by"] == admin.id
        assert entries[1]["reason"]
        assert entries[1]["start_time"] == cancelled["start_time"]
        row = appointment_row(app, cancelled["id"])
        assert row["status"] == "cancelled"
        assert row["cancellation_reason"] == entries[1]["reason"]
    assert appointment_row(app, past)["status"] == "scheduled"
    assert event_count(app, past) == 0
    assert appointment_row(app, someone_elses["id"])["status"] == "scheduled"
    assert event_count(app, someone_elses["id"]) == 1
