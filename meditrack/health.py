from flask import current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from meditrack.core.api import Blueprint
from meditrack.core.errors import database_unavailable
from meditrack.core.schemas import Schema, fields
from meditrack.core.security import public
from meditrack.extensions import db

blp = Blueprint("health", __name__, description="Liveness and database reachability.")


class IndexSchema(Schema):
    name = fields.String(metadata={"example": "MediTrack API"})
    version = fields.String(metadata={"example": "1.0.0"})
    docs = fields.String(metadata={"example": "/docs"})
    openapi = fields.String(metadata={"example": "/openapi.json"})
    health = fields.String(metadata={"example": "/health"})


@blp.get("/")
@public
@blp.response(200, IndexSchema)
def api_index():
    """Where to start: the interactive docs, the OpenAPI document and the health check.

    Public. Links to /docs, /openapi.json and /health, so that a newcomer's first request
    shows where to go next.
    """
    return {
        "name": current_app.config["API_TITLE"],
        "version": current_app.config["API_VERSION"],
        "docs": "/docs",
        "openapi": "/openapi.json",
        "health": "/health",
    }


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    database = fields.String(metadata={"example": "ok"})


@blp.get("/health")
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="The database cannot be reached.")
def check_health():
    """Report whether the API and its database answer.

    Public. 200 when the database answers, 503 with Retry-After when it does not; for load
    balancers and monitoring.
    """
    try:
        # A connection of its own: the request's session and its transaction stay untouched.
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return database_unavailable(exc, "The database is unavailable.", database="unavailable")
    return jsonify(status="ok", database="ok")
