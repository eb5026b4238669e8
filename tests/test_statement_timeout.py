"""On PostgreSQL a statement of a request that runs past MEDITRACK_STATEMENT_TIMEOUT_MS is
cancelled: 503 `query_timeout`, logged, rolled back. Migrations and commands outside a
request are not bounded."""

from __future__ import annotations

import logging
import threading

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text

from meditrack import create_app
from meditrack.audit.models import AuditEvent
from meditrack.extensions import db
from meditrack.patients.models import Patient
from tests import conftest
from tests.api_helpers import assert_problem

pytestmark = pytest.mark.postgres_only

TIMEOUT_MS = 200
#: Hang guards only: a lock is let go after this long whatever happens, so that a request
#: that is not bounded answers (and fails its test) rather than waiting for ever.
GUARD_SECONDS = 10


@pytest.fixture
def bounded(app, monkeypatch):
    monkeypatch.setitem(app.config, "MEDITRACK_STATEMENT_TIMEOUT_MS", TIMEOUT_MS)
    return app


@pytest.fixture
def lock_patients(app):
    """A second connection holding ACCESS EXCLUSIVE on patients until it is released."""
    with app.app_context():
        dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(dsn)
    conn.execute(f"SET lock_timeout = '{GUARD_SECONDS}s'")
    guard = threading.Timer(GUARD_SECONDS, lambda: release())

    def take():
        conn.execute("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE")
        guard.start()

    def release():
        conn.rollback()

    yield take, release
    guard.cancel()
    conn.close()


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_request_blocked_past_the_timeout_is_503_and_writes_nothing(
    bounded, client, receptionist, lock_patients, caplog
):
    app = bounded
    take, release = lock_patients
    patients, events = _count(app, Patient), _count(app, AuditEvent)
    take()
    with caplog.at_level(logging.ERROR, logger="meditrack.core.errors"):
        listed = client.get("/patients", headers=receptionist.headers)
        created = client.post(
            "/patients",
            json={"first_name": "Ann", "last_name": "Blocked", "date_of_birth": "1980-01-02"},
            headers=receptionist.headers,
        )
    for response in (listed, created):
        body = assert_problem(response, 503, "query_timeout")
        assert body["type"] == "urn:meditrack:problem:query_timeout"
        assert response.headers["Retry-After"] == "5"
        assert "SELECT" not in body["detail"] and "Blocked" not in response.get_data(as_text=True)
    logged = [r.getMessage() for r in caplog.records if "QueryCanceled" in r.getMessage()]
    assert len(logged) == 2 and "statement timeout" in logged[0]
    assert "Blocked" not in caplog.text  # no statement, no parameters

    release()
    assert _count(app, Patient) == patients  # the insert was rolled back
    assert _count(app, AuditEvent) == events  # and so was its event
    answer = client.get("/patients", headers=receptionist.headers)
    assert answer.status_code == 200
    assert all(row["last_name"] != "Blocked" for row in answer.get_json())


def test_without_the_timeout_a_request_waits_for_the_lock(
    app, client, receptionist, lock_patients, monkeypatch
):
    """0 turns the bound off: the same request waits for the lock and then answers."""
    monkeypatch.setitem(app.config, "MEDITRACK_STATEMENT_TIMEOUT_MS", 0)
    take, release = lock_patients
    take()
    timer = threading.Timer(1.0, release)  # released while the request waits
    timer.start()
    try:
        response = client.get("/patients", headers=receptionist.headers)
    finally:
        timer.join()
    assert response.status_code == 200


def test_the_bound_holds_in_requests_only(bounded, client, receptionist):
    """Outside a request (commands, tests' own reads) the server's setting is kept, even on
    a pooled connection a request has just used."""
    assert client.get("/patients", headers=receptionist.headers).status_code == 200
    with bounded.app_context():
        for _ in range(3):  # whichever pooled connection is handed out
            assert db.session.execute(text("SHOW statement_timeout")).scalar() == "0"
            db.session.remove()


def test_migrations_run_without_the_timeout():
    """`flask db upgrade` runs every migration statement with no statement timeout, even
    when the app is configured with a small one."""
    name = f"{conftest._database_name()}_timeout"
    url = conftest._create_postgres_database(name)
    seen: set[str] = set()

    def show(conn, cursor, statement, *_args):
        seen.add(cursor.connection.execute("SHOW statement_timeout").fetchone()[0])

    try:
        app = create_app(
            {
                **conftest.TEST_CONFIG,
                "SQLALCHEMY_DATABASE_URI": url,
                "MEDITRACK_STATEMENT_TIMEOUT_MS": 1,
            }
        )
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", show)
            upgrade()
            event.remove(db.engine, "before_cursor_execute", show)
            assert db.session.scalar(select(func.count()).select_from(Patient)) == 0
            db.engine.dispose()
    finally:
        conftest._drop_postgres_database(name)
    assert seen == {"0"}
