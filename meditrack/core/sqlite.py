"""SQLite, the embedded default, made safe for concurrent requests.

The sqlite3 module's own transaction handling is switched off so that MediTrack issues
BEGIN itself: a request that may write takes the write lock up front (BEGIN IMMEDIATE),
so its checks and its writes run with no other writer in between, which is what keeps
rules such as "no overlapping appointments" airtight without PostgreSQL's constraints.
Reads stay concurrent (WAL).
"""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _may_write() -> bool:
    return not has_request_context() or request.method in WRITE_METHODS


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
