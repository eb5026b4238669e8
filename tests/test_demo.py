"""`flask seed-demo`: a realistic demo hospital, loaded once, with a login for each role."""

from __future__ import annotations

from meditrack import demo
from tests.conftest import count_rows

TABLES = ("departments", "doctors", "doctor_working_hours", "patients", "users")


def counts(app) -> dict[str, int]:
    return {table: count_rows(app, table) for table in TABLES}


def seed(runner, *args: str):
    result = runner.invoke(args=["seed-demo", *args])
    assert result.exit_code == 0, result.output
    return result


def test_seed_builds_the_demo_hospital_once(app, runner):
    first = seed(runner)
    loaded = counts(app)
    assert loaded["departments"] == 6
    assert loaded["doctors"] == 30
    assert loaded["patients"] == 500
    assert loaded["users"] == 4
    assert loaded["doctor_working_hours"] >= 30 * 5
    assert "Demo hospital loaded" in first.output

    again = seed(runner)
    assert counts(app) == loaded
    assert "already loaded" in again.output
    for output in (first.output, again.output):
        for email in (demo.ADMIN_EMAIL, demo.RECEPTION_EMAIL, demo.DOCTOR_EMAIL):
            assert email in output
        assert demo.PASSWORD in output


def test_every_demo_login_signs_in_with_its_links(app, runner, client):
    seed(runner)
    expected = {
        demo.ADMIN_EMAIL: "admin",
        demo.RECEPTION_EMAIL: "receptionist",
        demo.DOCTOR_EMAIL: "doctor",
        demo.PATIENT_EMAIL: "patient",
    }
    me = {}
    for email, role in expected.items():
        response = client.post("/auth/login", json={"email": email, "password": demo.PASSWORD})
        assert response.status_code == 200, response.get_json()
        token = response.get_json()["access_token"]
        me[role] = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert me[role]["role"] == role

    assert me["doctor"]["doctor_id"] is not None
    assert me["patient"]["patient_id"] is not None
    assert me["admin"]["doctor_id"] is None and me["admin"]["patient_id"] is None


def test_demo_records_are_valid_and_varied(app, runner, client):
    seed(runner)
    token = client.post(
        "/auth/login", json={"email": demo.ADMIN_EMAIL, "password": demo.PASSWORD}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    departments = client.get("/departments?per_page=100", headers=headers).get_json()
    assert sorted(d["doctor_count"] for d in departments) == [5] * 6

    doctors = client.get("/doctors?per_page=100", headers=headers).get_json()
    assert len({d["email"].lower() for d in doctors}) == 30
    assert len({d["license_number"] for d in doctors}) == 30
    assert {d["slot_minutes"] for d in doctors} <= {15, 20, 30}
    assert all(d["working_hours"] for d in doctors)

    patients = client.get("/patients?per_page=100", headers=headers)
    assert patients.headers["X-Total-Count"] == "500"
    page = patients.get_json()
    assert len({p["gender"] for p in page}) >= 2
    assert len({p["date_of_birth"][:3] for p in page}) >= 5  # births over several decades


def test_if_empty_leaves_a_database_with_users_alone(app, runner, make_account):
    make_account("admin")
    result = seed(runner, "--if-empty")
    assert counts(app) == {
        "departments": 0,
        "doctors": 0,
        "doctor_working_hours": 0,
        "patients": 0,
        "users": 1,
    }
    assert demo.PASSWORD not in result.output


def test_if_empty_seeds_an_empty_database_and_reports_the_logins_later(app, runner):
    seed(runner, "--if-empty")
    assert count_rows(app, "patients") == 500
    again = seed(runner, "--if-empty")
    assert count_rows(app, "patients") == 500
    assert demo.ADMIN_EMAIL in again.output and demo.PASSWORD in again.output
