"""Accounts as admins manage them: /users."""

from __future__ import annotations

import threading

import pytest

from tests.auth_helpers import assert_invalid, assert_problem, stored_user

USER_KEYS = {"id", "name", "email", "role", "is_active", "patient_id", "doctor_id", "created_at"}
NON_ADMIN_ROLES = ("receptionist", "doctor", "patient")


@pytest.fixture
def people(admin, make_account):
    """The admin plus three accounts with known names: {name: account}."""
    return {
        "Admin": admin,
        "Bella Brown": make_account("receptionist", name="Bella Brown", email="bella@clinic.org"),
        "Carl Clark": make_account("doctor", name="Carl Clark", email="carl@example.org"),
        "Dora Diaz": make_account("patient", name="Dora Diaz", email="dora@example.org"),
    }


def list_users(client, admin, **query):
    response = client.get("/users", query_string=query, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response


def names(response) -> list[str]:
    return [user["name"] for user in response.get_json()]


def update(client, caller, user_id: int, body: dict, method: str = "PATCH", **headers):
    return client.open(
        f"/users/{user_id}", method=method, json=body, headers={**caller.headers, **headers}
    )


# --- GET /users ----------------------------------------------------------------------


def test_list_returns_every_account_with_a_total(client, admin, people):
    response = list_users(client, admin)

    body = response.get_json()
    assert isinstance(body, list)
    assert response.headers["X-Total-Count"] == "4"
    assert {user["id"] for user in body} == {account.id for account in people.values()}
    assert all(set(user) == USER_KEYS for user in body)
    assert "password" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_list_answers_with_a_trailing_slash_too(client, admin, people):
    response = client.get("/users/", headers=admin.headers)
    assert response.status_code == 200
    assert len(response.get_json()) == 4


def test_list_filters_by_role(client, admin, people):
    response = list_users(client, admin, role="doctor")
    assert names(response) == ["Carl Clark"]
    assert response.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("bella", ["Bella Brown"], id="name-lower-case"),
        pytest.param("CLARK", ["Carl Clark"], id="name-upper-case"),
        pytest.param("CLINIC.org", ["Bella Brown"], id="email"),
        pytest.param("nobody", [], id="no-match"),
        pytest.param("%", [], id="percent-is-not-a-wildcard"),
    ],
)
def test_list_searches_name_and_email(client, admin, people, q, expected):
    assert names(list_users(client, admin, q=q)) == expected


def test_search_and_role_filter_combine(client, admin, people):
    assert names(list_users(client, admin, q="example.org", role="patient")) == ["Dora Diaz"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param(None, ["Admin 1", "Bella Brown", "Carl Clark", "Dora Diaz"], id="default"),
        pytest.param("name", ["Admin 1", "Bella Brown", "Carl Clark", "Dora Diaz"], id="name"),
        pytest.param("-name", ["Dora Diaz", "Carl Clark", "Bella Brown", "Admin 1"], id="-name"),
        pytest.param("email", ["Admin 1", "Bella Brown", "Carl Clark", "Dora Diaz"], id="email"),
        pytest.param(
            "-created_at", ["Dora Diaz", "Carl Clark", "Bella Brown", "Admin 1"], id="-created"
        ),
    ],
)
def test_list_sorts(client, admin, people, sort, expected):
    query = {"sort": sort} if sort else {}
    assert names(list_users(client, admin, **query)) == expected


def test_list_pages_with_link_headers(client, admin, people):
    response = list_users(client, admin, per_page=3, page=2, sort="name")

    assert names(response) == ["Dora Diaz"]
    assert response.headers["X-Total-Count"] == "4"
    link = response.headers["Link"]
    assert 'rel="first"' in link and 'rel="prev"' in link and 'rel="last"' in link
    assert 'rel="next"' not in link


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"role": "superuser"}, "role", id="unknown-role"),
        pytest.param({"sort": "password_hash"}, "sort", id="sort-not-allowed"),
        pytest.param({"per_page": "0"}, "per_page", id="per-page-zero"),
        pytest.param({"per_page": "101"}, "per_page", id="per-page-too-big"),
        pytest.param({"page": "0"}, "page", id="page-zero"),
    ],
)
def test_list_refuses_bad_query_values(client, admin, query, field):
    response = client.get("/users", query_string=query, headers=admin.headers)
    assert_invalid(response, field)


# --- GET /users/<id> -----------------------------------------------------------------


def test_get_one_user(client, admin, people):
    carl = people["Carl Clark"]

    response = client.get(f"/users/{carl.id}", headers=admin.headers)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == USER_KEYS
    assert body["email"] == carl.email and body["role"] == "doctor"
    assert response.headers["ETag"]


def test_get_links_doctor_and_patient_records(client, admin, doctor_account, patient_account):
    (doctor_user, doctor), (patient_user, patient) = doctor_account, patient_account
    as_doctor = client.get(f"/users/{doctor_user.id}", headers=admin.headers).get_json()
    as_patient = client.get(f"/users/{patient_user.id}", headers=admin.headers).get_json()
    assert as_doctor["doctor_id"] == doctor["id"]
    assert as_patient["patient_id"] == patient["id"]


def test_get_a_missing_user(client, admin):
    assert_problem(client.get("/users/999999", headers=admin.headers), 404, "not_found")


# --- PATCH and PUT /users/<id> -------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_update_changes_only_the_fields_sent(app, client, admin, people, method):
    bella = people["Bella Brown"]

    response = update(client, admin, bella.id, {"name": "Bella Black"}, method=method)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == USER_KEYS
    assert (body["name"], body["role"], body["is_active"]) == ("Bella Black", "receptionist", True)
    assert stored_user(app, bella.id) == {
        "name": "Bella Black",
        "email": bella.email,
        "role": "receptionist",
        "active": True,
    }


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_update_role_and_activity(app, client, admin, people, method):
    dora = people["Dora Diaz"]

    response = update(client, admin, dora.id, {"role": "receptionist", "is_active": False}, method)

    assert response.status_code == 200
    assert stored_user(app, dora.id) == {
        "name": "Dora Diaz",
        "email": dora.email,
        "role": "receptionist",
        "active": False,
    }


def test_update_a_missing_user(client, admin):
    assert_problem(update(client, admin, 999999, {"name": "Nobody"}), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"role": "superuser"}, "role", id="unknown-role"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "x" * 101}, "name", id="long-name"),
        pytest.param({"is_active": None}, "is_active", id="null-activity"),
        pytest.param({"id": 5}, "id", id="read-only-id"),
        pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "created_at", id="read-only-date"),
        pytest.param({"email": "new@example.org"}, "email", id="email-not-editable"),
        pytest.param({"password": "a new long password"}, "password", id="password-elsewhere"),
    ],
)
def test_update_refuses_invalid_fields(app, client, admin, people, body, field):
    dora = people["Dora Diaz"]
    before = stored_user(app, dora.id)

    assert_invalid(update(client, admin, dora.id, body), field)
    assert stored_user(app, dora.id) == before


# --- only admins ---------------------------------------------------------------------


USER_ROUTES = [
    ("GET", "/users", None),
    ("GET", "/users/{id}", None),
    ("PATCH", "/users/{id}", {"name": "Renamed"}),
    ("PUT", "/users/{id}", {"role": "admin"}),
]


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
@pytest.mark.parametrize(("method", "path", "body"), USER_ROUTES)
def test_other_roles_are_forbidden(app, client, admin, make_account, role, method, path, body):
    caller = make_account(role)
    target = admin if method == "GET" else caller
    before = stored_user(app, caller.id)

    response = client.open(
        path.format(id=target.id), method=method, json=body, headers=caller.headers
    )

    assert_problem(response, 403, "forbidden")
    assert stored_user(app, caller.id) == before


@pytest.mark.parametrize(("method", "path", "body"), USER_ROUTES)
def test_anonymous_callers_must_sign_in(client, admin, method, path, body):
    response = client.open(path.format(id=admin.id), method=method, json=body)
    assert_problem(response, 401, "unauthorized")


# --- the last admin ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change", [{"role": "receptionist"}, {"is_active": False}], ids=["demote", "deactivate"]
)
def test_the_last_active_admin_stays(app, client, admin, change):
    response = update(client, admin, admin.id, change)

    assert_problem(response, 409, "conflict")
    assert stored_user(app, admin.id)["role"] == "admin"
    assert stored_user(app, admin.id)["active"] is True


@pytest.mark.parametrize(
    "change", [{"role": "receptionist"}, {"is_active": False}], ids=["demote", "deactivate"]
)
def test_an_inactive_admin_does_not_count(client, admin, make_account, change):
    dormant = make_account("admin")
    assert update(client, admin, dormant.id, {"is_active": False}).status_code == 200

    assert_problem(update(client, admin, admin.id, change), 409, "conflict")


@pytest.mark.parametrize(
    "change", [{"role": "receptionist"}, {"is_active": False}], ids=["demote", "deactivate"]
)
def test_an_admin_can_go_while_another_remains(app, client, admin, make_account, change):
    other = make_account("admin")

    response = update(client, other, admin.id, change)

    assert response.status_code == 200
    assert stored_user(app, admin.id) != stored_user(app, other.id)
    assert_problem(update(client, other, other.id, change), 409, "conflict")


ROUNDS = 8


@pytest.mark.parametrize(
    "change", [{"role": "receptionist"}, {"is_active": False}], ids=["demote", "deactivate"]
)
def test_two_admins_removing_each_other_at_once_leave_one(app, admin, make_account, change):
    """Each round two active admins demote (or deactivate) each other at the same moment,
    from two threads with their own connections: one wins, the other is refused, and an
    active admin is always left. (Without the lock on the admins' rows, PostgreSQL let both
    through.)"""
    remaining = admin
    for _ in range(ROUNDS):
        newcomer = make_account("admin")
        pairs = [(remaining, newcomer), (newcomer, remaining)]
        barrier = threading.Barrier(len(pairs))
        answers: dict[int, int] = {}

        def remove(caller, target, barrier=barrier, answers=answers):
            client = app.test_client()
            barrier.wait(10)
            answers[caller.id] = update(client, caller, target.id, change).status_code

        threads = [threading.Thread(target=remove, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        # The loser is refused as the last admin (409), or, when the winner had already
        # committed before its request was authorised, as no longer an admin (403) or no
        # longer signed in (401: deactivation revokes the logins).
        first, second = sorted(answers.values())
        assert first == 200 and second in (401, 403, 409), answers
        left = [a for a in (remaining, newcomer) if stored_user(app, a.id)["role"] == "admin"]
        active = [a for a in left if stored_user(app, a.id)["active"]]
        assert len(active) == 1, answers
        remaining = active[0]


def test_the_last_admin_may_still_rename_themselves(client, admin):
    response = update(client, admin, admin.id, {"name": "Head Admin", "role": "admin"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Head Admin"


# --- If-Match ------------------------------------------------------------------------


def etag_of_user(client, admin, user_id: int) -> str:
    return client.get(f"/users/{user_id}", headers=admin.headers).headers["ETag"]


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_stale_etag_is_refused(app, client, admin, people, method):
    carl = people["Carl Clark"]
    stale = etag_of_user(client, admin, carl.id)
    assert update(client, admin, carl.id, {"name": "Carl Cole"}).status_code == 200

    response = update(client, admin, carl.id, {"name": "Carl Crane"}, method, **{"If-Match": stale})

    assert_problem(response, 412, "precondition_failed")
    assert stored_user(app, carl.id)["name"] == "Carl Cole"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_the_current_etag_is_accepted(app, client, admin, people, method):
    carl = people["Carl Clark"]
    current = etag_of_user(client, admin, carl.id)

    response = update(
        client, admin, carl.id, {"name": "Carl Crane"}, method, **{"If-Match": current}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != current
    assert response.headers["ETag"] == etag_of_user(client, admin, carl.id)
    assert stored_user(app, carl.id)["name"] == "Carl Crane"
