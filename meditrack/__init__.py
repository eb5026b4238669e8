"""MediTrack: a hospital backend. `create_app` builds the Flask application."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from meditrack import config as settings
from meditrack.core import (
    postgres,  # noqa: F401  (registers the PostgreSQL statement timeout)
    slots,
    sqlite,  # noqa: F401  (registers the SQLite connection hooks)
    transaction,
)
from meditrack.core.db import render_item
from meditrack.core.http import IdConverter
from meditrack.extensions import api, db, jwt, limiter, ma, migrate

API_TITLE = "MediTrack API"
API_VERSION = "1.0.0"
MAX_BODY_BYTES = 1024 * 1024


class MediTrack(Flask):
    """Flask, with the request's transaction owned by its boundary (core/transaction.py):
    a view that returns commits, and whatever raises, in a before-request hook (a refused
    token) or in the view, is rolled back before its failure work runs."""

    def preprocess_request(self):
        try:
            return super().preprocess_request()
        except Exception as error:
            return self._failed(error)

    def dispatch_request(self):
        try:
            response = super().dispatch_request()
            transaction.commit()
        except Exception as error:
            return self._failed(error)
        return response

    @staticmethod
    def _failed(error: Exception):
        replacement = transaction.fail(error)
        if replacement is None:
            raise error
        return replacement


def create_app(test_config: dict | None = None) -> Flask:
    app = MediTrack(__name__, static_folder=None)
    app.config.update(settings.load(Path(app.instance_path)))
    app.config.update(_api_settings(app.config["MEDITRACK_PUBLIC_URL"]))
    if test_config:
        app.config.update(test_config)
        app.config["HOSPITAL_TZ"] = settings.hospital_timezone(app.config["MEDITRACK_TIMEZONE"])
        if "SQLALCHEMY_ENGINE_OPTIONS" not in test_config:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = settings.engine_options(
                app.config["SQLALCHEMY_DATABASE_URI"]
            )
    app.url_map.strict_slashes = False
    app.url_map.converters["int"] = IdConverter
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))

    _bind_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)

    from meditrack import cli

    cli.register(app)
    return app


def _api_settings(public_url: str) -> dict:
    """The document's `servers`: MEDITRACK_PUBLIC_URL when set, else "/" (wherever the
    document was fetched from, so that /docs calls the server that served it)."""
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "Patients, doctors, departments, appointments, records and "
                "reports for a hospital. Sign in with POST /auth/login and send the access "
                "token as `Authorization: Bearer <token>`.",
                "license": {"name": "MIT", "url": "https://spdx.org/licenses/MIT.html"},
                "contact": {"name": "The administrators of this MediTrack installation"},
            },
            "servers": [{"url": public_url or "/", "description": "This MediTrack server."}],
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": False,
    }


def _bind_extensions(app: Flask) -> None:
    # Models must be imported before the mappers are configured.
    from meditrack import models  # noqa: F401

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent.parent / "migrations"),
        render_as_batch=True,
        render_item=render_item,
    )
    ma.init_app(app)
    jwt.init_app(app)
    limiter.init_app(app)
    slots.init_app(app)
    api.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from meditrack import docs, health
    from meditrack.appointments.views import blp as appointments_blp
    from meditrack.appointments.views import schedule as schedule_blp
    from meditrack.audit.views import blp as audit_blp
    from meditrack.auth.views import blp as auth_blp
    from meditrack.departments.views import blp as departments_blp
    from meditrack.doctors.views import blp as doctors_blp
    from meditrack.emergency.views import blp as emergency_blp
    from meditrack.patients.views import blp as patients_blp
    from meditrack.records.views import blp as records_blp
    from meditrack.reports.views import blp as reports_blp
    from meditrack.users.views import blp as users_blp

    for blueprint in (
        health.blp,
        auth_blp,
        users_blp,
        departments_blp,
        doctors_blp,
        patients_blp,
        appointments_blp,
        schedule_blp,
        records_blp,
        audit_blp,
        emergency_blp,
        reports_blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)


def _register_hooks(app: Flask) -> None:
    from meditrack.auth import tokens
    from meditrack.core import errors, http, limits, requestlog, security, transport

    requestlog.register(app)
    errors.register(app)
    tokens.register(app)
    http.register(app)
    limits.register(app)
    transport.register(app)
    security.register(app)
    http.register_body_check(app)
