"""Conventions every endpoint keeps: lists, slashes, ETags, headers and problem responses."""

import pytest

from tests.api_helpers import PROBLEM_KEYS, assert_problem, ids, link_pages

COLLECTIONS = ("/departments", "/doctors", "/patients")


@pytest.fixture
def world(factory):
    """One department, doctor and patient: {"departments": id, "doctors": id, "patients": id}."""
    department = factory.department()
    return {
        "departments": department["id"],
        "doctors": factory.doctor(department_id=department["id"])["id"],
        "patients": factory.patient(department_id=department["id"])["id"],
    }


def item_path(world, collection: str) -> str:
    return f"{collection}/{world[collection.strip('/')]}"


# --- pagination -------------------------------------------------------------------------


@pytest.fixture(params=["departments", "patients"])
def forty_five(request, factory):
    """45 rows of one collection: (path, ids in the default order)."""
    make = getattr(factory, request.param.removesuffix("s"))
    created = [
        make(**{"name" if request.param == "departments" else "last_name": f"N{n:02}"})
        for n in range(45)
    ]
    return f"/{request.param}", [row["id"] for row in created]


@pytest.mark.parametrize(
    ("page", "size", "links"),
    [
        (1, 20, {"first": 1, "next": 2, "last": 3}),
        (2, 20, {"first": 1, "prev": 1, "next": 3, "last": 3}),
        (3, 5, {"first": 1, "prev": 2, "last": 3}),
    ],
)
def test_pages_carry_a_total_and_links(client, admin, forty_five, page, size, links):
    path, all_ids = forty_five

    response = client.get(path, query_string={"page": page, "per_page": 20}, headers=admin.headers)

    assert ids(response) == all_ids[(page - 1) * 20 : (page - 1) * 20 + size]
    assert response.headers["X-Total-Count"] == "45"
    assert link_pages(response) == links
    assert all("per_page=20" in part for part in response.headers["Link"].split(","))


def test_the_pages_together_hold_every_row_once(client, admin, forty_five):
    path, all_ids = forty_five
    seen = []
    for page in (1, 2, 3):
        seen += ids(client.get(path, query_string={"page": page}, headers=admin.headers))
    assert seen == all_ids


def test_links_keep_the_other_query_parameters(client, admin, factory):
    for n in range(3):
        factory.department(name=f"Ward {n}")
    response = client.get(
        "/departments",
        query_string={"q": "ward", "sort": "-name", "per_page": 1},
        headers=admin.headers,
    )
    assert link_pages(response) == {"first": 1, "next": 2, "last": 3}
    for part in response.headers["Link"].split(","):
        assert "q=ward" in part and "sort=-name" in part


def test_a_page_past_the_end_is_empty(client, admin, forty_five):
    path, _ = forty_five
    response = client.get(path, query_string={"page": 9, "per_page": 20}, headers=admin.headers)
    assert response.status_code == 200
    assert response.get_json() == []
    assert response.headers["X-Total-Count"] == "45"
    assert link_pages(response)["last"] == 3


@pytest.fixture
def every_list(factory, doctor_account, client):
    """One row in every paginated list: the paths of the lists, and the `q` that finds it."""
    account, doctor = doctor_account
    patient = factory.patient(department_id=doctor["department_id"], first_name="Amy")
    factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])
    factory.time_off(doctor["id"])
    record = client.post(
        f"/patients/{patient['id']}/records", json={"diagnosis": "Flu"}, headers=account.headers
    )
    assert record.status_code == 201, record.get_json()
    return [
        "/departments",
        "/doctors",
        "/patients",
        "/appointments",
        "/users",
        f"/patients/{patient['id']}/records",
        f"/doctors/{doctor['id']}/time-off",
        "/audit-events",
        f"/patients/{patient['id']}/access-log",
        "/emergency-access",
    ]


# Past any row a table can hold: 2**31 - 1 (a 32-bit id), 2**63 - 1 and 2**63 (the ends of
# PostgreSQL's and SQLite's 64-bit offsets), and far beyond.
HUGE_PAGES = ["2147483648", "9223372036854775807", "9223372036854775808", "9" * 30]


@pytest.mark.parametrize("q", [None, "amy"])
@pytest.mark.parametrize("page", HUGE_PAGES)
def test_page_has_no_upper_bound_on_any_list(client, admin, every_list, page, q):
    for path in every_list:
        for per_page in ("1", "100"):
            query = {"page": page, "per_page": per_page, **({"q": q} if q else {})}
            response = client.get(path, query_string=query, headers=admin.headers)
            assert response.status_code == 200, (path, response.get_json())
            assert response.get_json() == [], path
            total = int(response.headers["X-Total-Count"])
            last = max(1, -(-total // int(per_page)))
            assert link_pages(response) == {"first": 1, "prev": last, "last": last}, path


def test_the_huge_page_test_covers_every_list(client, every_list):
    """A new paginated list is added to the test above, or this fails."""
    spec = client.get("/openapi.json").get_json()
    paginated = {
        path.rstrip("/").split("/")[-1]
        for path, operations in spec["paths"].items()
        if any(p.get("name") == "page" for p in operations.get("get", {}).get("parameters", []))
    }
    assert paginated == {path.split("/")[-1] for path in every_list}


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_an_empty_list(client, admin, collection):
    response = client.get(collection, headers=admin.headers)
    assert response.status_code == 200
    assert response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"
    assert link_pages(response) == {"first": 1, "last": 1}


def test_the_default_page_size_is_20(client, admin, factory):
    for n in range(21):
        factory.department(name=f"D{n:02}")
    response = client.get("/departments", headers=admin.headers)
    assert len(response.get_json()) == 20
    assert link_pages(response) == {"first": 1, "next": 2, "last": 2}


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "-1"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"sort": "password"}, "sort"),
        ({"sort": "-"}, "sort"),
    ],
)
def test_bad_list_parameters_are_422(client, admin, collection, query, field):
    response = client.get(collection, query_string=query, headers=admin.headers)
    assert_problem(response, 422, "validation_error", field)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_per_page_100_is_allowed(client, admin, world, collection):
    response = client.get(collection, query_string={"per_page": 100}, headers=admin.headers)
    assert ids(response) == [world[collection.strip("/")]]


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_unknown_query_parameters_are_ignored(client, admin, world, collection):
    plain = client.get(collection, headers=admin.headers)
    extra = client.get(
        collection, query_string={"colour": "blue", "page_size": "x"}, headers=admin.headers
    )
    assert extra.status_code == 200
    assert extra.get_json() == plain.get_json() != []


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize("slash", ["", "/"], ids=["bare", "slash"])
def test_collections_answer_with_and_without_a_trailing_slash(
    client, admin, world, collection, slash
):
    response = client.get(collection + slash, headers=admin.headers)
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert ids(response) == [world[collection.strip("/")]]


@pytest.mark.parametrize("slash", ["", "/"], ids=["bare", "slash"])
def test_posting_to_a_collection_with_a_trailing_slash(client, admin, slash):
    response = client.post(f"/departments{slash}", json={"name": "ICU"}, headers=admin.headers)
    assert response.status_code == 201


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_unknown_ids_are_404(client, admin, world, collection, method):
    body = {} if method in ("PUT", "PATCH") else None
    response = client.open(f"{collection}/987654", method=method, json=body, headers=admin.headers)
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("collection", ["/doctors", "/patients"])
def test_restoring_an_unknown_id_is_404(client, admin, collection):
    response = client.post(f"{collection}/987654/restore", headers=admin.headers)
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/departments"),
        ("PUT", "/patients"),
        ("PATCH", "/doctors/"),
        ("POST", "/doctors/{doctors}"),
        ("POST", "/patients/{patients}"),
        ("GET", "/patients/{patients}/restore"),
    ],
)
def test_a_wrong_method_is_405(client, admin, world, method, path):
    response = client.open(path.format(**world), method=method, headers=admin.headers)
    assert_problem(response, 405, "method_not_allowed")
    assert method not in response.headers["Allow"]


def test_an_unknown_path_is_a_problem_too(client, admin):
    assert_problem(client.get("/nowhere", headers=admin.headers), 404, "not_found")


# --- ETags ----------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_single_resources_carry_an_etag_and_answer_if_none_match(client, admin, world, collection):
    path = item_path(world, collection)
    first = client.get(path, headers=admin.headers)
    etag = first.headers["ETag"]
    assert etag

    again = client.get(path, headers={**admin.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""

    other = client.get(path, headers={**admin.headers, "If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.get_json() == first.get_json()


PATCHES = {
    "/departments": {"location": "Annex"},
    "/doctors": {"phone": "555-0142"},
    "/patients": {"allergies": "Pollen"},
}


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_stale_if_match_is_412_and_changes_nothing(client, admin, world, collection, method):
    path = item_path(world, collection)
    before = client.get(path, headers=admin.headers).get_json()

    response = client.open(
        path,
        method=method,
        json=PATCHES[collection],
        headers={**admin.headers, "If-Match": '"0123456789abcdef"'},
    )

    assert_problem(response, 412, "precondition_failed")
    assert client.get(path, headers=admin.headers).get_json() == before


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_matching_if_match_lets_the_write_through(client, admin, world, collection):
    path = item_path(world, collection)
    etag = client.get(path, headers=admin.headers).headers["ETag"]

    response = client.patch(
        path, json=PATCHES[collection], headers={**admin.headers, "If-Match": etag}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    # the old validator is now stale
    again = client.patch(path, json={}, headers={**admin.headers, "If-Match": etag})
    assert_problem(again, 412, "precondition_failed")


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_if_match_star_and_no_if_match_let_the_write_through(client, admin, world, collection):
    path = item_path(world, collection)
    starred = client.patch(path, json={}, headers={**admin.headers, "If-Match": "*"})
    plain = client.patch(path, json=PATCHES[collection], headers=admin.headers)
    assert (starred.status_code, plain.status_code) == (200, 200)


def test_a_stale_if_match_stops_a_delete(client, admin, factory):
    department = factory.department()
    path = f"/departments/{department['id']}"

    stale = client.delete(path, headers={**admin.headers, "If-Match": '"stale"'})
    assert_problem(stale, 412, "precondition_failed")
    assert client.get(path, headers=admin.headers).status_code == 200

    etag = client.get(path, headers=admin.headers).headers["ETag"]
    assert client.delete(path, headers={**admin.headers, "If-Match": etag}).status_code == 204


@pytest.mark.parametrize("collection", ["/doctors", "/patients"])
def test_a_stale_if_match_stops_an_archive(client, admin, world, collection):
    path = item_path(world, collection)
    stale = client.delete(path, headers={**admin.headers, "If-Match": '"stale"'})
    assert_problem(stale, 412, "precondition_failed")
    assert client.get(path, headers=admin.headers).status_code == 200


def test_the_etag_of_a_write_matches_the_next_read(client, admin, world):
    path = item_path(world, "/patients")
    written = client.patch(path, json={"phone": "555-0100"}, headers=admin.headers)
    assert written.headers["ETag"] == client.get(path, headers=admin.headers).headers["ETag"]


# --- headers ------------------------------------------------------------------------------


def test_patient_responses_are_never_cached(client, admin, world):
    path = item_path(world, "/patients")
    responses = [
        client.get("/patients", headers=admin.headers),
        client.get(path, headers=admin.headers),
        client.post(
            "/patients",
            json={"first_name": "A", "last_name": "B", "date_of_birth": "2000-01-01"},
            headers=admin.headers,
        ),
        client.patch(path, json={"allergies": "Dust"}, headers=admin.headers),
        client.get("/patients/987654", headers=admin.headers),
        client.delete(path, headers=admin.headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 201, 200, 404, 204]
    for response in responses:
        assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/departments", 200),
        ("GET", "/patients/{patients}", 200),
        ("GET", "/doctors/987654", 404),
        ("DELETE", "/patients", 405),
    ],
)
def test_the_request_id_is_echoed(client, admin, world, method, path, status):
    response = client.open(
        path.format(**world),
        method=method,
        headers={**admin.headers, "X-Request-ID": "trace-42.a_b"},
    )
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "trace-42.a_b"


def test_a_request_id_is_made_when_none_is_sent(client, admin):
    first = client.get("/departments", headers=admin.headers).headers["X-Request-ID"]
    second = client.get("/departments", headers=admin.headers).headers["X-Request-ID"]
    assert first and second and first != second


# --- problems -----------------------------------------------------------------------------


def error_responses(client, admin, make_account, world):
    patient = make_account("patient")
    headers = admin.headers
    return {
        400: client.post(
            "/departments", data="{", content_type="application/json", headers=headers
        ),
        401: client.get("/patients"),
        403: client.post("/departments", json={"name": "X"}, headers=patient.headers),
        404: client.get("/patients/987654", headers=headers),
        405: client.delete("/doctors", headers=headers),
        409: client.delete(f"/departments/{world['departments']}", headers=headers),
        412: client.patch(
            f"/departments/{world['departments']}",
            json={},
            headers={**headers, "If-Match": '"x"'},
        ),
        415: client.post("/departments", data="name=X", content_type="text/plain", headers=headers),
        422: client.post("/departments", json={}, headers=headers),
    }


def test_every_error_is_a_problem_document(client, admin, make_account, world):
    for status, response in error_responses(client, admin, make_account, world).items():
        assert response.status_code == status
        assert response.headers["Content-Type"].startswith("application/problem+json")
        body = response.get_json(force=True)
        assert body.keys() >= PROBLEM_KEYS, body
        assert body["status"] == status
        assert body["code"].isidentifier() and body["code"] == body["code"].lower()
        assert body["type"].endswith(body["code"])
        assert body["title"] and body["detail"]


def test_validation_errors_name_each_field(client, admin):
    response = client.post(
        "/doctors", json={"first_name": "", "slot_minutes": 1}, headers=admin.headers
    )
    body = assert_problem(response, 422, "validation_error")
    assert {"first_name", "slot_minutes", "last_name", "email"} <= body["errors"].keys()
    assert all(isinstance(m, list) and m for m in body["errors"].values())
