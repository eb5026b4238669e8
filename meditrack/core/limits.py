"""How large a request's head may be: a longer URL is a 414, more header bytes a 431.

Checked first, before the token or the body is looked at, so that an oversized request
costs nothing more. The server in front (meditrack/serving) accepts heads larger than
these limits, so that these answers come from here, as problem+json.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from meditrack.core.errors import AppError


class UriTooLong(AppError):
    status, code = 414, "uri_too_long"


class HeadersTooLarge(AppError):
    status, code = 431, "headers_too_large"


def _url_bytes() -> int:
    """The request target as the client sent it: the path of RAW_URI (gunicorn's, and
    werkzeug's), and the raw query string (werkzeug's test client leaves a query given
    apart out of RAW_URI). WSGI strings hold the bytes as latin-1."""
    environ = request.environ
    path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    path = path.partition("?")[0]
    query = environ.get("QUERY_STRING", "")
    size = len(path.encode("latin-1", "replace"))
    return size + (1 + len(query.encode("latin-1", "replace")) if query else 0)


def _header_bytes() -> int:
    """As on the wire: `Name: value` and its line end, for every header."""
    return sum(len(name) + len(value) + 4 for name, value in request.headers.items())


def _check_head() -> None:
    url_limit = current_app.config["MAX_URL_BYTES"]
    if _url_bytes() > url_limit:
        raise UriTooLong(f"The URL is longer than {url_limit} bytes.")
    header_limit = current_app.config["MAX_HEADER_BYTES"]
    if _header_bytes() > header_limit:
        raise HeadersTooLarge(f"The request headers are larger than {header_limit} bytes.")


def register(app: Flask) -> None:
    """After the request id is set (the answer names it), before anything else reads."""
    app.before_request(_check_head)
