"""Link URLs never come from the Host header: relative, or under MEDITRACK_PUBLIC_URL."""

from __future__ import annotations

import pytest

from meditrack import create_app
from meditrack.config import ConfigError, public_url
from tests.api_helpers import link_pages


@pytest.fixture
def three_departments(factory):
    for n in range(3):
        factory.department(name=f"Ward {n}")


def _links(response) -> list[str]:
    return [part.split(";")[0].strip()[1:-1] for part in response.headers["Link"].split(",")]


def test_a_forged_host_never_reaches_the_link_header(client, admin, three_departments):
    response = client.get(
        "/departments",
        query_string={"per_page": 1},
        headers={**admin.headers, "Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200
    assert link_pages(response) == {"first": 1, "next": 2, "last": 3}
    assert "evil.example" not in response.headers["Link"]
    assert all(url.startswith("/departments?") for url in _links(response))


def test_links_are_absolute_under_the_configured_public_url(app, admin, three_departments):
    app.config["MEDITRACK_PUBLIC_URL"] = "https://api.hospital.example/v1"
    try:
        response = app.test_client().get(
            "/departments",
            query_string={"per_page": 1},
            headers={**admin.headers, "Host": "evil.example"},
        )
    finally:
        app.config["MEDITRACK_PUBLIC_URL"] = ""
    assert all(
        url.startswith("https://api.hospital.example/v1/departments?") for url in _links(response)
    )


@pytest.mark.parametrize("raw", ["api.hospital.example", "ftp://x.example", "//x.example"])
def test_a_public_url_without_a_scheme_is_refused_at_start(raw):
    with pytest.raises(ConfigError):
        public_url(raw)


def test_the_public_url_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDITRACK_PUBLIC_URL", "https://api.hospital.example/")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["MEDITRACK_PUBLIC_URL"] == "https://api.hospital.example"
