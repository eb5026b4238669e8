"""SQLite, the embedded default, made safe for concurrent requests.

The sqlite3 module's own transaction handling is switched off so that MediTrack issues
BEGIN itself: a request that may write takes the write lock up front (BEGIN IMMEDIATE),
so its checks and its writes run with no other writer in between, which is what keeps
rules such as "no overlapping appointments" airtight without PostgreSQL's constraints.
Reads stay concurrent (WAL).
"""

from __future__ import annotations

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _may_write() -> bool:
    """A write request, or a read that writes its audit events (a view marked `audited`):
    begun deferred, such a read would fail to write once another request has committed
    since it started reading (WAL keeps it on its old snapshot)."""
    if not has_request_context() or request.method in WRITE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    audited = getattr(view, "audited", False)
    return audited() if callable(audited) else bool(audited)


@event.listens_for(Engine, "connect")
def _configure(dbapi_connection, _record) -> None:
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")
