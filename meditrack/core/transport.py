"""What every response says about how it may be used: security headers, HSTS, CORS.

Behind a TLS-terminating proxy, `TRUSTED_PROXIES` says how many proxies to believe:
their `X-Forwarded-For` and `X-Forwarded-Proto` are honoured, and only then. With the
default of 0 a client cannot pretend to be HTTPS or to come from another address.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: JSON is never a page: it may run no script, load nothing and sit in no frame.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

#: Swagger UI loads its bundled script and style from this server and calls the API;
#: its components set inline styles and it draws a few icons from data: URIs.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

HSTS = "max-age=31536000; includeSubDomains"

CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_REQUEST_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"
)
CORS_EXPOSED_HEADERS = (
    "ETag, Location, Link, X-Total-Count, X-Request-ID, Retry-After, Content-Disposition, "
    "X-Chart-Bucket"
)
CORS_MAX_AGE = "600"


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["CORS_ORIGINS"]:
        return origin
    return None


def _preflight() -> Response | None:
    """Answer a CORS preflight before authentication: browsers send it without a token."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]
    if _allowed_origin():
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def _headers(response: Response) -> Response:
    headers = response.headers
    if response.status_code == 204:
        headers.pop("Content-Type", None)  # no body, so no type
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    docs = request.path == "/docs" or request.path.startswith("/docs/")
    headers["Content-Security-Policy"] = DOCS_POLICY if docs else API_POLICY
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    origin = _allowed_origin()
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    if current_app.config["CORS_ORIGINS"]:
        headers.add("Vary", "Origin")
    return response


def register(app: Flask) -> None:
    """Before authentication, so that a preflight needs no token."""
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.before_request(_preflight)
    app.after_request(_headers)
