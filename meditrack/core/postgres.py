"""PostgreSQL: every request bounded by a statement timeout.

A statement that runs longer than `MEDITRACK_STATEMENT_TIMEOUT_MS` (a slow report, a wait
for a lock someone holds) is cancelled by the server, and the request answers 503
`query_timeout` (core/errors.py) after its transaction is rolled back like any failure.
Only connections used by a request are bounded: migrations, the command-line tools and
the benchmark's bulk loading run outside any request and may take as long as they need.

The setting is made when a pooled connection is handed out, and only when it changes
(a connection that goes from a request to a command, or the setting itself), so that a
server pays one `SET` per connection rather than one per request.
"""

from __future__ import annotations

from flask import current_app, has_request_context
from sqlalchemy import event
from sqlalchemy.pool import Pool

APPLIED = "statement_timeout_ms"


def wanted_timeout() -> int | None:
    """The bound for the current context in milliseconds; None for the server's own."""
    if not has_request_context():
        return None
    return current_app.config.get("MEDITRACK_STATEMENT_TIMEOUT_MS") or None


@event.listens_for(Pool, "checkout")
def _bound_statements(dbapi_connection, record, _proxy) -> None:
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return
    wanted = wanted_timeout()
    if record.info.get(APPLIED) == wanted:
        return
    # Outside a transaction (the pool hands out idle connections), so that the setting
    # holds for the session and is not undone by the request's rollback.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        if wanted is None:
            dbapi_connection.execute("RESET statement_timeout")
        else:
            dbapi_connection.execute(
                "SELECT set_config('statement_timeout', %s, false)", (f"{wanted}ms",)
            )
    finally:
        dbapi_connection.autocommit = autocommit
    record.info[APPLIED] = wanted
