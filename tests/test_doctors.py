"""Doctors: admins write, anyone signed in reads; archive, restore and working hours."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api_helpers import assert_problem, ids
from tests.conftest import count_rows

FIELDS = {
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "specialization",
    "license_number",
    "department_id",
    "department",
    "user_id",
    "is_active",
    "slot_minutes",
    "working_hours",
    "created_at",
    "updated_at",
}
NON_ADMIN_ROLES = ("receptionist", "doctor", "patient")


@pytest.fixture
def department(factory):
    return factory.department(name="Cardiology")


@pytest.fixture
def valid(department):
    """A complete, valid body for POST /doctors."""
    return {
        "first_name": "Gregory",
        "last_name": "House",
        "email": "house@example.org",
        "specialization": "Diagnostics",
        "department_id": department["id"],
    }


def post(client, account, body):
    return client.post("/doctors", json=body, headers=account.headers)


def get(client, account, doctor_id, **query):
    return client.get(f"/doctors/{doctor_id}", query_string=query, headers=account.headers)


def listed(client, account, **query):
    return client.get("/doctors", query_string=query, headers=account.headers)


# --- create ---------------------------------------------------------------------------


def test_admin_creates_a_doctor_with_defaults(client, admin, department, valid):
    response = post(client, admin, valid)

    assert response.status_code == 201
    doctor = response.get_json()
    assert set(doctor) == FIELDS
    assert doctor["department"] == {"id": department["id"], "name": "Cardiology"}
    assert doctor["is_active"] is True
    assert doctor["slot_minutes"] == 30
    assert doctor["working_hours"] == []
    assert doctor["user_id"] is None and doctor["license_number"] is None
    assert response.headers["Location"].endswith(f"/doctors/{doctor['id']}")
    assert client.get(response.headers["Location"], headers=admin.headers).get_json() == doctor


def test_every_field_may_be_sent(client, admin, make_account, valid):
    account = make_account("doctor")
    body = {
        **valid,
        "phone": "+44 20 7946 0000",
        "license_number": "GMC-123456",
        "user_id": account.id,
        "is_active": False,
        "slot_minutes": 15,
        "working_hours": [
            {"weekday": 0, "start": "09:00", "end": "12:00"},
            {"weekday": 0, "start": "13:00", "end": "17:00"},
            {"weekday": 6, "start": "00:00", "end": "23:59"},
        ],
    }

    response = post(client, admin, body)

    assert response.status_code == 201, response.get_json()
    doctor = response.get_json()
    for name, value in body.items():
        assert doctor[name] == value, name


@pytest.mark.parametrize(
    "missing", ["first_name", "last_name", "email", "specialization", "department_id"]
)
def test_required_fields(client, app, admin, valid, missing):
    del valid[missing]
    assert_problem(post(client, admin, valid), 422, "validation_error", missing)
    assert count_rows(app, "doctors") == 0


def test_a_department_that_does_not_exist_is_a_422_naming_the_field(client, app, admin, valid):
    valid["department_id"] = 987654
    assert_problem(post(client, admin, valid), 422, "validation_error", "department_id")
    assert count_rows(app, "doctors") == 0


@pytest.mark.parametrize("minutes", [5, 240])
def test_slot_minutes_at_the_bounds_are_accepted(client, admin, valid, minutes):
    response = post(client, admin, {**valid, "slot_minutes": minutes})
    assert response.status_code == 201
    assert response.get_json()["slot_minutes"] == minutes


@pytest.mark.parametrize("minutes", [4, 241, 0, -30])
def test_slot_minutes_out_of_range(client, app, admin, valid, minutes):
    response = post(client, admin, {**valid, "slot_minutes": minutes})
    assert_problem(response, 422, "validation_error", "slot_minutes")
    assert count_rows(app, "doctors") == 0


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ([{"weekday": 7, "start": "09:00", "end": "17:00"}], "working_hours.0.weekday"),
        ([{"weekday": -1, "start": "09:00", "end": "17:00"}], "working_hours.0.weekday"),
        ([{"weekday": 1, "start": "25:00", "end": "26:00"}], "working_hours.0.start"),
        ([{"weekday": 1, "start": "09:00", "end": "9:60"}], "working_hours.0.end"),
        ([{"weekday": 1, "start": "9am", "end": "17:00"}], "working_hours.0.start"),
        ([{"weekday": 1, "start": "17:00", "end": "09:00"}], "working_hours.0.end"),
        ([{"weekday": 1, "start": "09:00", "end": "09:00"}], "working_hours.0.end"),
        ([{"weekday": 1, "start": "09:00"}], "working_hours.0.end"),
        ([{"weekday": 1, "start": "09:00", "end": "17:00", "room": 4}], "working_hours.0.room"),
        (
            [
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "11:30", "end": "14:00"},
            ],
            "working_hours.1.start",
        ),
        (
            [
                {"weekday": 2, "start": "08:00", "end": "18:00"},
                {"weekday": 3, "start": "08:00", "end": "18:00"},
                {"weekday": 2, "start": "10:00", "end": "11:00"},
            ],
            "working_hours.2.start",
        ),
    ],
)
def test_working_hours_are_validated(client, app, admin, valid, periods, field):
    response = post(client, admin, {**valid, "working_hours": periods})
    assert_problem(response, 422, "validation_error", field)
    assert count_rows(app, "doctors") == 0
    assert count_rows(app, "doctor_working_hours") == 0


def test_adjacent_periods_on_one_weekday_do_not_overlap(client, admin, valid):
    periods = [
        {"weekday": 4, "start": "13:00", "end": "17:00"},
        {"weekday": 4, "start": "09:00", "end": "13:00"},
    ]
    response = post(client, admin, {**valid, "working_hours": periods})
    assert response.status_code == 201
    assert response.get_json()["working_hours"] == sorted(periods, key=lambda p: p["start"])


def periods(count: int) -> list[dict]:
    """`count` half-hour periods, none overlapping: one each weekday from 06:00, then 07:00..."""
    return [
        {"weekday": i % 7, "start": f"{6 + i // 7:02d}:00", "end": f"{6 + i // 7:02d}:30"}
        for i in range(count)
    ]


def test_fifty_working_periods_are_accepted(client, app, admin, valid):
    response = post(client, admin, {**valid, "working_hours": periods(50)})
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["working_hours"]) == 50
    assert count_rows(app, "doctor_working_hours") == 50


@pytest.mark.parametrize("count", [51, 10_000])
def test_more_than_fifty_working_periods_are_refused(client, app, admin, valid, factory, count):
    doctor = factory.doctor(working_hours=periods(2))
    before = get(client, admin, doctor["id"]).get_json()

    created = post(client, admin, {**valid, "working_hours": periods(count)})
    replaced = client.put(
        f"/doctors/{doctor['id']}", json={"working_hours": periods(count)}, headers=admin.headers
    )

    for response in (created, replaced):
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"] == {"working_hours": ["At most 50 working periods."]}
    assert count_rows(app, "doctors") == 1
    assert count_rows(app, "doctor_working_hours") == 2
    assert get(client, admin, doctor["id"]).get_json() == before


def hours(*spans: str) -> list[dict]:
    """hours("0 09:00-12:00", ...): periods as `weekday start-end`."""
    result = []
    for span in spans:
        weekday, times = span.split()
        start, end = times.split("-")
        result.append({"weekday": int(weekday), "start": start, "end": end})
    return result


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        (hours("1 13:00-14:00", "1 09:00-17:00"), {0}),
        (hours("3 11:00-13:00", "3 09:00-10:00", "3 08:00-12:00"), {0, 1}),
        (hours("2 09:00-10:00", "2 09:00-11:00"), {1}),
        (hours("4 15:00-16:00", "0 09:00-17:00", "4 08:00-18:00", "4 10:00-11:00"), {0, 3}),
        (hours("5 12:00-13:00", "5 09:00-12:00", "5 11:59-12:01"), {0, 2}),
    ],
    ids=[
        "inside-an-earlier-one",
        "past-a-short-neighbour",
        "same-start",
        "other-day-between",
        "tie",
    ],
)
def test_overlaps_in_unsorted_periods_are_found(client, app, admin, valid, sent, named):
    """The period that starts later is named, also when the one it overlaps is not its
    neighbour in start order (08-12 covers 11-13 though 09-10 lies between)."""
    response = post(client, admin, {**valid, "working_hours": sent})
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == {
        f"working_hours.{index}.start": ["Overlaps another period on the same weekday."]
        for index in sorted(named)
    }
    assert count_rows(app, "doctors") == 0


def test_unsorted_adjacent_periods_on_several_weekdays_are_accepted(client, admin, valid):
    sent = hours("1 13:00-17:00", "0 17:00-18:00", "1 09:00-13:00", "0 09:00-17:00")
    response = post(client, admin, {**valid, "working_hours": sent})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["working_hours"] == [sent[3], sent[1], sent[2], sent[0]]


# --- user link and duplicates ----------------------------------------------------------


@pytest.mark.parametrize("role", ["patient", "receptionist", "admin"])
def test_user_id_must_be_a_doctor_account(client, app, admin, make_account, valid, role):
    account = make_account(role)
    response = post(client, admin, {**valid, "user_id": account.id})
    assert_problem(response, 422, "validation_error", "user_id")
    assert count_rows(app, "doctors") == 0


def test_user_id_must_exist(client, admin, valid):
    assert_problem(post(client, admin, {**valid, "user_id": 99999}), 422, "validation_error")


def test_a_doctor_account_links_to_one_doctor_only(client, app, admin, doctor_account, valid):
    account, _ = doctor_account
    response = post(client, admin, {**valid, "user_id": account.id})
    assert_problem(response, 409, "duplicate")
    assert count_rows(app, "doctors") == 1


def test_linking_an_account_already_linked_on_update_is_a_duplicate(
    client, admin, factory, doctor_account
):
    account, linked = doctor_account
    other = factory.doctor()
    response = client.patch(
        f"/doctors/{other['id']}", json={"user_id": account.id}, headers=admin.headers
    )
    assert_problem(response, 409, "duplicate")
    assert get(client, admin, other["id"]).get_json()["user_id"] is None
    # re-sending its own link is not a duplicate
    same = client.patch(
        f"/doctors/{linked['id']}", json={"user_id": account.id}, headers=admin.headers
    )
    assert same.status_code == 200


@pytest.mark.parametrize(
    ("field", "taken", "sent"),
    [
        ("email", "house@example.org", "HOUSE@Example.ORG"),
        ("email", "house@example.org", "house@example.org"),
        ("license_number", "LIC-1", "LIC-1"),
    ],
)
def test_duplicates_are_refused_on_create(client, app, admin, factory, valid, field, taken, sent):
    factory.doctor(**{field: taken})
    response = post(client, admin, {**valid, field: sent})
    assert_problem(response, 409, "duplicate")
    assert count_rows(app, "doctors") == 1


@pytest.mark.parametrize(
    ("field", "value"), [("email", "WHO@example.org"), ("license_number", "X")]
)
def test_duplicates_are_refused_on_update(client, admin, factory, field, value):
    factory.doctor(email="who@example.org", license_number="X")
    other = factory.doctor()
    response = client.patch(f"/doctors/{other['id']}", json={field: value}, headers=admin.headers)
    assert_problem(response, 409, "duplicate")
    assert get(client, admin, other["id"]).get_json()[field] == other[field]


def test_an_archived_doctor_still_holds_its_email(client, admin, factory, valid):
    archived = factory.doctor(email="house@example.org")
    assert client.delete(f"/doctors/{archived['id']}", headers=admin.headers).status_code == 204
    assert_problem(post(client, admin, valid), 409, "duplicate")


# --- update ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_updates_change_only_the_fields_sent(client, admin, factory, method):
    hours = [{"weekday": 0, "start": "09:00", "end": "17:00"}]
    doctor = factory.doctor(phone="555-0100", slot_minutes=20, working_hours=hours)

    response = client.open(
        f"/doctors/{doctor['id']}",
        method=method,
        json={"specialization": "Cardiology"},
        headers=admin.headers,
    )

    assert response.status_code == 200
    updated = response.get_json()
    assert updated["specialization"] == "Cardiology"
    unchanged = {k: v for k, v in doctor.items() if k not in ("specialization", "updated_at")}
    assert {k: updated[k] for k in unchanged} == unchanged
    assert get(client, admin, doctor["id"]).get_json() == updated


def test_working_hours_are_replaced_whole(client, app, admin, factory):
    doctor = factory.doctor(
        working_hours=[
            {"weekday": 0, "start": "09:00", "end": "12:00"},
            {"weekday": 2, "start": "09:00", "end": "12:00"},
        ]
    )
    new_hours = [{"weekday": 5, "start": "10:00", "end": "14:00"}]

    replaced = client.patch(
        f"/doctors/{doctor['id']}", json={"working_hours": new_hours}, headers=admin.headers
    )
    assert replaced.status_code == 200
    assert replaced.get_json()["working_hours"] == new_hours
    assert count_rows(app, "doctor_working_hours") == 1

    cleared = client.put(
        f"/doctors/{doctor['id']}", json={"working_hours": []}, headers=admin.headers
    )
    assert cleared.get_json()["working_hours"] == []
    assert count_rows(app, "doctor_working_hours") == 0


def test_moving_a_doctor_to_another_department(client, admin, factory):
    doctor = factory.doctor()
    target = factory.department(name="Pediatrics")
    response = client.patch(
        f"/doctors/{doctor['id']}", json={"department_id": target["id"]}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.get_json()["department"] == {"id": target["id"], "name": "Pediatrics"}


def test_updating_to_a_missing_department_is_a_422(client, admin, factory):
    doctor = factory.doctor()
    response = client.patch(
        f"/doctors/{doctor['id']}", json={"department_id": 424242}, headers=admin.headers
    )
    assert_problem(response, 422, "validation_error", "department_id")
    assert get(client, admin, doctor["id"]).get_json()["department_id"] == doctor["department_id"]


@pytest.mark.parametrize("body", [{"slot_minutes": 241}, {"first_name": ""}, {"email": "nope"}])
def test_an_invalid_update_changes_nothing(client, admin, factory, body):
    doctor = factory.doctor()
    response = client.patch(f"/doctors/{doctor['id']}", json=body, headers=admin.headers)
    assert_problem(response, 422, "validation_error", *body)
    assert get(client, admin, doctor["id"]).get_json() == doctor


# --- roles ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_any_role_reads(client, make_account, factory, role):
    doctor = factory.doctor()
    account = make_account(role)
    assert ids(listed(client, account)) == [doctor["id"]]
    assert get(client, account, doctor["id"]).get_json() == doctor


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", "valid"),
        ("PUT", "/{id}", {"specialization": "Changed"}),
        ("PATCH", "/{id}", {"specialization": "Changed"}),
        ("DELETE", "/{id}", None),
    ],
)
def test_only_admins_write(client, app, make_account, factory, valid, role, method, suffix, body):
    doctor = factory.doctor()
    account = make_account(role)
    body = valid if body == "valid" else body

    response = client.open(
        "/doctors" + suffix.format(id=doctor["id"]),
        method=method,
        json=body,
        headers=account.headers,
    )

    assert_problem(response, 403, "forbidden")
    assert count_rows(app, "doctors") == 1
    assert get(client, account, doctor["id"]).get_json() == doctor


# --- filters and sorting --------------------------------------------------------------


@pytest.fixture
def staff_of_two_departments(factory):
    cardiology = factory.department(name="Cardiology")
    neurology = factory.department(name="Neurology")
    doctors = {
        "ada": factory.doctor(
            first_name="Ada",
            last_name="Lovelace",
            specialization="Cardiology",
            department_id=cardiology["id"],
            license_number="LIC-ADA",
        ),
        "alan": factory.doctor(
            first_name="Alan",
            last_name="Turing",
            specialization="Neurology",
            department_id=neurology["id"],
            is_active=False,
        ),
        "grace": factory.doctor(
            first_name="Grace",
            last_name="Hopper",
            email="grace@navy.example",
            specialization="cardiology",
            department_id=neurology["id"],
        ),
    }
    return cardiology, neurology, doctors


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["grace", "ada", "alan"]),
        ({"department_id": "{cardiology}"}, ["ada"]),
        ({"department_id": "{neurology}"}, ["grace", "alan"]),
        ({"specialization": "CARDIOLOGY"}, ["grace", "ada"]),
        ({"specialization": "Cardio"}, []),
        ({"is_active": "true"}, ["grace", "ada"]),
        ({"is_active": "false"}, ["alan"]),
        ({"q": "turing"}, ["alan"]),
        ({"q": "navy"}, ["grace"]),
        ({"q": "lic-ada"}, ["ada"]),
        ({"q": "ada lovelace"}, ["ada"]),
        ({"q": "ada turing"}, []),
        ({"q": "A", "is_active": "1", "department_id": "{neurology}"}, ["grace"]),
    ],
)
def test_filters(client, admin, staff_of_two_departments, query, expected):
    cardiology, neurology, doctors = staff_of_two_departments
    query = {
        k: v.format(cardiology=cardiology["id"], neurology=neurology["id"])
        for k, v in query.items()
    }
    response = listed(client, admin, **query)
    assert ids(response) == [doctors[name]["id"] for name in expected]
    assert response.headers["X-Total-Count"] == str(len(expected))


@pytest.mark.parametrize("value", ["987654", "0", "abc", "1.5"])
def test_department_filter_must_name_a_department(client, admin, factory, value):
    factory.doctor()
    response = listed(client, admin, department_id=value)
    assert_problem(response, 422, "validation_error", "department_id")


def test_is_active_filter_refuses_nonsense(client, admin):
    assert_problem(listed(client, admin, is_active="maybe"), 422, "validation_error", "is_active")


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("last_name", ["grace", "ada", "alan"]),
        ("-last_name", ["alan", "ada", "grace"]),
        ("created_at", ["ada", "alan", "grace"]),
        ("-created_at", ["grace", "alan", "ada"]),
    ],
)
def test_sorting(client, admin, staff_of_two_departments, sort, expected):
    *_, doctors = staff_of_two_departments
    assert ids(listed(client, admin, sort=sort)) == [doctors[name]["id"] for name in expected]


def test_unknown_sort_is_refused(client, admin):
    assert_problem(listed(client, admin, sort="email"), 422, "validation_error", "sort")


# --- archive and restore --------------------------------------------------------------


def archive(client, account, doctor_id):
    return client.delete(f"/doctors/{doctor_id}", headers=account.headers)


def test_archiving_hides_the_doctor_but_keeps_the_row(client, app, admin, factory):
    doctor = factory.doctor()
    kept = factory.doctor()

    response = archive(client, admin, doctor["id"])

    assert response.status_code == 204
    assert_problem(get(client, admin, doctor["id"]), 404, "not_found")
    assert ids(listed(client, admin)) == [kept["id"]]
    assert count_rows(app, "doctors") == 2
    assert_problem(archive(client, admin, doctor["id"]), 404, "not_found")
    assert_problem(
        client.patch(f"/doctors/{doctor['id']}", json={"phone": "1"}, headers=admin.headers),
        404,
        "not_found",
    )


def test_admins_see_archived_doctors_on_request(client, admin, factory):
    doctor = factory.doctor()
    kept = factory.doctor()
    archive(client, admin, doctor["id"])

    assert sorted(ids(listed(client, admin, include_archived="true"))) == sorted(
        [doctor["id"], kept["id"]]
    )
    shown = get(client, admin, doctor["id"], include_archived="true")
    assert shown.status_code == 200
    assert shown.get_json()["id"] == doctor["id"]


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_other_roles_may_not_ask_for_archived_doctors(client, make_account, factory, role):
    doctor = factory.doctor()
    account = make_account(role)
    assert_problem(listed(client, account, include_archived="true"), 403, "forbidden")
    assert_problem(get(client, account, doctor["id"], include_archived="true"), 403, "forbidden")


def test_admins_restore_an_archived_doctor(client, admin, factory):
    doctor = factory.doctor()
    archive(client, admin, doctor["id"])

    response = client.post(f"/doctors/{doctor['id']}/restore", headers=admin.headers)

    assert response.status_code == 200
    restored = response.get_json()
    assert {k: restored[k] for k in doctor if k != "updated_at"} == {
        k: v for k, v in doctor.items() if k != "updated_at"
    }
    assert get(client, admin, doctor["id"]).status_code == 200
    assert ids(listed(client, admin)) == [doctor["id"]]


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_other_roles_may_not_restore(client, admin, make_account, factory, role):
    doctor = factory.doctor()
    archive(client, admin, doctor["id"])
    account = make_account(role)

    response = client.post(f"/doctors/{doctor['id']}/restore", headers=account.headers)

    assert_problem(response, 403, "forbidden")
    assert_problem(get(client, admin, doctor["id"]), 404, "not_found")


def test_restoring_an_unknown_doctor_is_404(client, admin):
    assert_problem(client.post("/doctors/777/restore", headers=admin.headers), 404, "not_found")


def test_a_doctor_with_an_upcoming_appointment_is_not_archived(client, admin, factory):
    doctor = factory.doctor()
    patient = factory.patient()
    factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])

    assert_problem(archive(client, admin, doctor["id"]), 409, "has_dependents")
    assert get(client, admin, doctor["id"]).status_code == 200


@pytest.mark.parametrize(
    ("days", "status"),
    [(-3, "scheduled"), (-3, "completed"), (3, "cancelled"), (3, "no_show")],
    ids=["past", "past-completed", "future-cancelled", "no-show"],
)
def test_past_or_cancelled_appointments_do_not_block_archiving(
    client, admin, factory, days, status
):
    doctor = factory.doctor()
    patient = factory.patient()
    start = datetime.now(UTC) + timedelta(days=days)
    factory.appointment(
        patient_id=patient["id"], doctor_id=doctor["id"], start=start, status=status
    )

    assert archive(client, admin, doctor["id"]).status_code == 204
