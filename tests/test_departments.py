"""Departments: admins write, anyone signed in reads, only empty ones are deleted."""

import pytest

from tests.api_helpers import assert_problem, ids
from tests.conftest import count_rows

FIELDS = {
    "id",
    "name",
    "description",
    "location",
    "phone",
    "doctor_count",
    "patient_count",
    "created_at",
    "updated_at",
}
NON_ADMIN_ROLES = ("receptionist", "doctor", "patient")


def get(client, account, department_id):
    return client.get(f"/departments/{department_id}", headers=account.headers)


def test_admin_creates_a_department_with_location_and_the_whole_object(client, admin):
    body = {
        "name": "  Cardiology ",
        "description": "Hearts.\nAnd vessels.",
        "location": "Building B, floor 2",
        "phone": "+1 555 0100",
    }
    response = client.post("/departments", json=body, headers=admin.headers)

    assert response.status_code == 201
    created = response.get_json()
    assert set(created) == FIELDS
    assert created["name"] == "Cardiology"
    assert created["description"] == "Hearts.\nAnd vessels."
    assert (created["doctor_count"], created["patient_count"]) == (0, 0)
    assert response.headers["Location"].endswith(f"/departments/{created['id']}")
    assert client.get(response.headers["Location"], headers=admin.headers).get_json() == created


def test_optional_fields_default_to_null(client, admin):
    created = client.post("/departments", json={"name": "Radiology"}, headers=admin.headers)
    assert created.status_code == 201
    body = created.get_json()
    assert (body["description"], body["location"], body["phone"]) == (None, None, None)


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": None}])
def test_a_name_is_required(client, app, admin, body):
    response = client.post("/departments", json=body, headers=admin.headers)
    assert_problem(response, 422, "validation_error", "name")
    assert count_rows(app, "departments") == 0


def test_counts_are_of_doctors_and_patients_that_are_not_archived(client, admin, factory):
    department = factory.department()
    doctors = [factory.doctor(department_id=department["id"]) for _ in range(2)]
    patients = [factory.patient(department_id=department["id"]) for _ in range(3)]
    factory.doctor()  # another department's doctor does not count
    assert client.delete(f"/doctors/{doctors[0]['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"/patients/{patients[0]['id']}", headers=admin.headers).status_code == 204

    shown = get(client, admin, department["id"]).get_json()
    listed = next(
        item
        for item in client.get("/departments", headers=admin.headers).get_json()
        if item["id"] == department["id"]
    )
    for body in (shown, listed):
        assert (body["doctor_count"], body["patient_count"]) == (1, 2)


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_any_role_reads(client, make_account, factory, role):
    department = factory.department(name="Oncology")
    account = make_account(role)

    listed = client.get("/departments", headers=account.headers)
    shown = get(client, account, department["id"])

    assert ids(listed) == [department["id"]]
    assert shown.status_code == 200
    assert shown.get_json()["name"] == "Oncology"


def test_reading_needs_a_token(client, factory):
    department = factory.department()
    assert_problem(client.get("/departments"), 401, "unauthorized")
    assert_problem(client.get(f"/departments/{department['id']}"), 401, "unauthorized")


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_only_admins_write(client, app, make_account, factory, role, method):
    department = factory.department(name="Neurology")
    account = make_account(role)
    path = "/departments" if method == "POST" else f"/departments/{department['id']}"
    body = None if method == "DELETE" else {"name": "Renamed"}

    response = client.open(path, method=method, json=body, headers=account.headers)

    assert_problem(response, 403, "forbidden")
    assert count_rows(app, "departments") == 1
    assert get(client, account, department["id"]).get_json()["name"] == "Neurology"


@pytest.mark.parametrize("taken", ["cardiology", "CARDIOLOGY", " Cardiology "])
def test_names_are_unique_ignoring_case_on_create(client, app, admin, factory, taken):
    factory.department(name="Cardiology")
    response = client.post("/departments", json={"name": taken}, headers=admin.headers)
    assert_problem(response, 409, "duplicate")
    assert count_rows(app, "departments") == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_names_are_unique_ignoring_case_on_rename(client, admin, factory, method):
    factory.department(name="Cardiology")
    other = factory.department(name="Dermatology")

    response = client.open(
        f"/departments/{other['id']}",
        method=method,
        json={"name": "cARDIOLOGY"},
        headers=admin.headers,
    )

    assert_problem(response, 409, "duplicate")
    assert get(client, admin, other["id"]).get_json()["name"] == "Dermatology"


def test_a_department_may_change_the_case_of_its_own_name(client, admin, factory):
    department = factory.department(name="cardiology")
    response = client.patch(
        f"/departments/{department['id']}", json={"name": "Cardiology"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "Cardiology"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_updates_change_only_the_fields_sent(client, admin, factory, method):
    department = factory.department(name="Surgery", location="Wing A", phone="555-0101")

    response = client.open(
        f"/departments/{department['id']}",
        method=method,
        json={"location": "Wing C"},
        headers=admin.headers,
    )

    assert response.status_code == 200
    updated = response.get_json()
    assert updated["location"] == "Wing C"
    assert (updated["name"], updated["phone"]) == ("Surgery", "555-0101")
    assert updated["created_at"] == department["created_at"]
    assert get(client, admin, department["id"]).get_json() == updated


def test_a_field_can_be_cleared_with_null(client, admin, factory):
    department = factory.department(description="To be removed")
    response = client.patch(
        f"/departments/{department['id']}", json={"description": None}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.get_json()["description"] is None


def test_an_empty_department_is_really_deleted(client, app, admin, factory):
    department = factory.department()
    kept = factory.department()

    response = client.delete(f"/departments/{department['id']}", headers=admin.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(get(client, admin, department["id"]), 404, "not_found")
    assert ids(client.get("/departments", headers=admin.headers)) == [kept["id"]]
    assert count_rows(app, "departments") == 1


@pytest.mark.parametrize("kind", ["doctor", "patient"])
@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
def test_a_department_in_use_is_not_deleted(client, app, admin, factory, kind, archived):
    department = factory.department()
    dependent = getattr(factory, kind)(department_id=department["id"])
    if archived:
        archive = client.delete(f"/{kind}s/{dependent['id']}", headers=admin.headers)
        assert archive.status_code == 204

    response = client.delete(f"/departments/{department['id']}", headers=admin.headers)

    assert_problem(response, 409, "has_dependents")
    assert get(client, admin, department["id"]).status_code == 200
    assert count_rows(app, "departments") == 1


def test_deleting_an_unknown_department_is_404(client, admin):
    assert_problem(client.delete("/departments/4242", headers=admin.headers), 404, "not_found")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cardio", ["Cardiology"]),
        ("CARDIO", ["Cardiology"]),
        ("ology", ["Cardiology", "Neurology"]),
        ("wing z", ["Pediatrics"]),
        ("brain", ["Neurology"]),
        ("nothing like it", []),
        ("%", []),
    ],
)
def test_q_searches_name_description_and_location(client, admin, factory, q, expected):
    factory.department(name="Cardiology", location="Wing A")
    factory.department(name="Neurology", description="Brain and nerves")
    factory.department(name="Pediatrics", location="Wing Z")

    response = client.get("/departments", query_string={"q": q}, headers=admin.headers)

    assert response.status_code == 200
    assert [item["name"] for item in response.get_json()] == expected
    assert response.headers["X-Total-Count"] == str(len(expected))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["Alpha", "Bravo", "Charlie"]),
        ("name", ["Alpha", "Bravo", "Charlie"]),
        ("-name", ["Charlie", "Bravo", "Alpha"]),
        ("created_at", ["Bravo", "Charlie", "Alpha"]),
        ("-created_at", ["Alpha", "Charlie", "Bravo"]),
    ],
)
def test_sorting(client, admin, factory, sort, expected):
    for name in ("Bravo", "Charlie", "Alpha"):
        factory.department(name=name)
    query = {"sort": sort} if sort else {}

    response = client.get("/departments", query_string=query, headers=admin.headers)

    assert [item["name"] for item in response.get_json()] == expected


@pytest.mark.parametrize("sort", ["location", "-phone", "--name", "id", ""])
def test_unknown_sorts_are_refused(client, admin, sort):
    response = client.get("/departments", query_string={"sort": sort}, headers=admin.headers)
    assert_problem(response, 422, "validation_error", "sort")
