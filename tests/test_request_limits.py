"""The app's own bounds on a request's head: a URL past MAX_URL_BYTES is a 414 and headers
past MAX_HEADER_BYTES a 431, as problem+json, before the token or the body is read."""

from __future__ import annotations

from meditrack.config import MAX_HEADER_BYTES, MAX_URL_BYTES

PROBLEM_JSON = "application/problem+json"


def _url(length: int, path: str = "/health") -> str:
    prefix = f"{path}?q="
    return prefix + "a" * (length - len(prefix))


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert body["code"] == code
    assert body["status"] == status
    assert response.headers["X-Request-ID"]
    return body


def test_a_url_at_the_limit_is_served(client):
    assert client.get(_url(MAX_URL_BYTES)).status_code == 200


def test_a_url_past_the_limit_is_414(client):
    body = _assert_problem(client.get(_url(MAX_URL_BYTES + 1)), 414, "uri_too_long")
    assert str(MAX_URL_BYTES) in body["detail"]


def test_the_url_is_measured_as_sent(client):
    """Percent-escapes count as the bytes the client sent, not as what they decode to."""
    escaped = "%20" * (MAX_URL_BYTES // 3)
    _assert_problem(client.get(f"/health?q={escaped}"), 414, "uri_too_long")


def test_a_long_url_is_refused_before_authentication(client):
    """No token, a protected route: the size is the first thing checked."""
    _assert_problem(client.get(_url(MAX_URL_BYTES + 1, "/patients")), 414, "uri_too_long")


def test_headers_within_the_limit_are_served(client):
    response = client.get("/health", headers={"X-Padding": "p" * (MAX_HEADER_BYTES - 200)})
    assert response.status_code == 200


def test_headers_past_the_limit_are_431(client):
    response = client.get("/health", headers={"X-Padding": "p" * MAX_HEADER_BYTES})
    body = _assert_problem(response, 431, "headers_too_large")
    assert str(MAX_HEADER_BYTES) in body["detail"]


def test_many_small_headers_add_up(client):
    headers = {f"X-Header-{n}": "v" * 200 for n in range((MAX_HEADER_BYTES // 200) + 1)}
    _assert_problem(client.get("/health", headers=headers), 431, "headers_too_large")


def test_a_huge_bearer_token_is_431_not_401(client):
    headers = {"Authorization": "Bearer " + "t" * MAX_HEADER_BYTES}
    _assert_problem(client.get("/patients", headers=headers), 431, "headers_too_large")


def test_a_refused_request_writes_nothing(client, admin):
    """A write whose head is too large never reaches the view."""
    response = client.post(
        "/departments",
        json={"name": "Oncology"},
        headers={**admin.headers, "X-Padding": "p" * MAX_HEADER_BYTES},
    )
    _assert_problem(response, 431, "headers_too_large")
    listed = client.get("/departments", headers=admin.headers).get_json()
    assert [department["name"] for department in listed] == []


def test_a_query_given_apart_counts_too(client):
    """However the client builds it, the query is part of the URL."""
    response = client.get("/health", query_string={"q": "a" * MAX_URL_BYTES})
    _assert_problem(response, 414, "uri_too_long")
