"""Every route needs a bearer access token unless its view is marked otherwise."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from flask_jwt_extended import verify_jwt_in_request

PUBLIC = "public"
OPTIONAL = "optional"
REFRESH = "refresh"

#: Endpoints outside any blueprint of ours that need no token.
PUBLIC_ENDPOINTS = {"static", "api-docs.openapi_json", "docs.swagger_ui", "docs.asset"}


def _mark(kind: str) -> Callable:
    def decorator(view):
        view.auth = kind
        apidoc = getattr(view, "_apidoc", {})
        if kind != REFRESH:
            manual = apidoc.setdefault("manual_doc", {})
            manual["security"] = [] if kind == PUBLIC else [{}, {"bearerAuth": []}]
        view._apidoc = apidoc
        return view

    return decorator


public = _mark(PUBLIC)
"""No token at all."""

optional_token = _mark(OPTIONAL)
"""A token is read when one is sent (it must then be valid)."""

refresh_token_required = _mark(REFRESH)
"""A refresh token, not an access token."""


def _authenticate() -> None:
    if request.method == "OPTIONS" or request.endpoint is None:
        return
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    view = current_app.view_functions.get(request.endpoint)
    kind = getattr(view, "auth", None)
    if kind == PUBLIC:
        return
    verify_jwt_in_request(optional=kind == OPTIONAL, refresh=kind == REFRESH)


def register(app: Flask) -> None:
    app.before_request(_authenticate)
