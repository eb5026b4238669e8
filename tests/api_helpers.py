"""Assertions shared by the HTTP tests of departments, doctors and patients."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
LINK_PART = re.compile(r'<([^>]*)>;\s*rel="([^"]+)"')


def assert_problem(response, status: int, code: str, *fields: str) -> dict:
    """The response is a problem+json with this status and code, naming these fields."""
    body = response.get_json(force=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/problem+json"
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status and body["code"] == code, body
    for name in fields:
        assert name in body.get("errors", {}), body
    return body


def link_pages(response) -> dict[str, int]:
    """The Link header as {rel: page number}."""
    pages = {}
    for url, rel in LINK_PART.findall(response.headers.get("Link", "")):
        pages[rel] = int(parse_qs(urlsplit(url).query)["page"][0])
    return pages


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()]
