"""Security headers on every response, HSTS and proxies, and CORS for listed origins only."""

from __future__ import annotations

import re

import pytest

from meditrack import create_app
from meditrack.core.transport import API_POLICY, DOCS_POLICY
from meditrack.docs import PAGE
from tests.conftest import TEST_CONFIG

UI = "https://ui.example.org"


def _directives(policy: str) -> dict[str, set[str]]:
    parts = (item.split() for item in policy.split(";") if item.strip())
    return {name: set(values) for name, *values in parts}


@pytest.fixture
def responses(client, admin):
    """A JSON read, a problem, a 404, a 204, the docs page and a docs asset."""
    department = client.post("/departments", json={"name": "Cardiology"}, headers=admin.headers)
    return {
        "json": client.get("/departments", headers=admin.headers),
        "problem": client.get("/departments"),
        "not found": client.get("/nowhere", headers=admin.headers),
        "no content": client.delete(
            f"/departments/{department.get_json()['id']}", headers=admin.headers
        ),
        "docs": client.get("/docs"),
        "docs script": client.get("/docs/init.js"),
    }


def test_every_response_forbids_sniffing_framing_and_referrers(responses):
    for name, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "no-referrer", name
        assert response.headers["X-Frame-Options"] == "DENY", name
        assert "Content-Security-Policy" in response.headers, name


def test_api_responses_may_run_nothing(responses):
    for name in ("json", "problem", "not found", "no content"):
        policy = _directives(responses[name].headers["Content-Security-Policy"])
        assert policy["default-src"] == {"'none'"}, name
        assert policy["frame-ancestors"] == {"'none'"}, name


def test_a_204_has_no_content_type(responses):
    response = responses["no content"]
    assert response.status_code == 204
    assert "Content-Type" not in response.headers


def test_the_docs_policy_allows_exactly_what_the_docs_page_loads(responses):
    """Swagger UI loads its scripts and styles from this server and calls the API here;
    nothing inline runs, nothing comes from elsewhere."""
    page = responses["docs"]
    assert page.status_code == 200
    policy = _directives(page.headers["Content-Security-Policy"])
    assert policy["script-src"] == {"'self'"}
    assert policy["connect-src"] == {"'self'"}
    assert policy["default-src"] == {"'none'"}
    assert "'unsafe-eval'" not in page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", PAGE, re.S)
    assert scripts, "the docs page loads its scripts"
    for attributes, body in scripts:
        assert body.strip() == "", "an inline script would be blocked by script-src 'self'"
        source = re.search(r'src="([^"]+)"', attributes).group(1)
        assert source.startswith("/docs/"), source
    for href in re.findall(r'href="([^"]+)"', PAGE):
        assert href.startswith("/docs/"), href
    assert responses["docs script"].status_code == 200
    assert responses["docs script"].mimetype == "text/javascript"


def test_the_docs_assets_named_by_the_page_are_served(client):
    for source in re.findall(r'(?:src|href)="([^"]+)"', PAGE):
        response = client.get(source)
        assert response.status_code == 200, source
        assert response.headers["Content-Security-Policy"] == DOCS_POLICY


def test_api_policy_is_not_the_docs_policy():
    assert API_POLICY != DOCS_POLICY
    assert "'self'" not in API_POLICY


# HSTS and proxies


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://api.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_forwarded_proto_is_ignored_unless_a_proxy_is_trusted(client):
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture
def proxied_app(app):
    """The same database behind one trusted proxy."""
    return create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "TRUSTED_PROXIES": 1,
        }
    )


def test_a_trusted_proxy_says_the_request_was_https(proxied_app):
    client = proxied_app.test_client()
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_a_trusted_proxy_names_the_client_address(proxied_app, count_events_by_ip):
    client = proxied_app.test_client()
    client.post(
        "/auth/login",
        json={"email": "nobody@example.org", "password": "wrong password"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert count_events_by_ip(proxied_app, "203.0.113.7") == 1


def test_an_untrusted_forwarded_for_is_ignored(app, client, count_events_by_ip):
    client.post(
        "/auth/login",
        json={"email": "nobody@example.org", "password": "wrong password"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert count_events_by_ip(app, "203.0.113.7") == 0
    assert count_events_by_ip(app, "127.0.0.1") == 1


@pytest.fixture
def count_events_by_ip():
    from sqlalchemy import func, select

    from meditrack.audit.models import AuditEvent
    from meditrack.extensions import db

    def count(app, ip: str) -> int:
        with app.app_context():
            return db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.ip == ip)
            )

    return count


# CORS


@pytest.fixture
def cors(app, monkeypatch):
    monkeypatch.setitem(app.config, "CORS_ORIGINS", frozenset({UI}))


def test_no_cors_headers_when_no_origin_is_configured(client, admin):
    response = client.get("/departments", headers={**admin.headers, "Origin": UI})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(
        "/departments", headers={"Origin": UI, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers


def test_a_listed_origin_may_read_responses_and_their_headers(cors, client, admin):
    response = client.get("/departments", headers={**admin.headers, "Origin": UI})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == UI
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Location", "Link", "X-Total-Count", "X-Request-ID"} <= exposed
    assert "Origin" in response.headers.getlist("Vary")
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_an_unlisted_origin_gets_no_cors_headers(cors, client, admin):
    for origin in ("https://evil.example.org", "https://ui.example.org.evil.net", "null"):
        response = client.get("/departments", headers={**admin.headers, "Origin": origin})
        assert "Access-Control-Allow-Origin" not in response.headers, origin
    assert "Origin" in response.headers.getlist("Vary")


def test_a_preflight_from_a_listed_origin_needs_no_token(cors, client):
    response = client.options(
        "/patients",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == UI
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed and "if-match" in allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert response.data == b""


def test_a_preflight_from_an_unlisted_origin_is_not_granted(cors, client):
    response = client.options(
        "/patients",
        headers={"Origin": "https://evil.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_a_listed_origin_still_needs_a_token(cors, client):
    response = client.get("/patients", headers={"Origin": UI})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == UI  # so the UI can read why


@pytest.mark.parametrize("raw", ["*", "ui.example.org", "https://a.example.org, *"])
def test_cors_origins_must_be_exact_origins(raw):
    from meditrack.config import ConfigError, cors_origins

    with pytest.raises(ConfigError):
        cors_origins(raw)


def test_cors_origins_are_read_from_a_comma_separated_list():
    from meditrack.config import cors_origins

    assert cors_origins(" https://a.example.org/, http://localhost:3000 ,") == {
        "https://a.example.org",
        "http://localhost:3000",
    }
