"""Every test runs twice: on SQLite and on PostgreSQL, each built by the migrations.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server). When it cannot be
reached the PostgreSQL half is skipped, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

os.environ.setdefault("JWT_SECRET_KEY", "test-secret-that-is-long-enough-for-hs256-0123456789")

from meditrack import create_app
from meditrack.core import slots
from meditrack.extensions import db, limiter
from tests.declared import Declared, Recorder

BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_CONFIG = {
    "TESTING": True,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 64,
    "RATELIMIT_STORAGE_URI": "memory://",
    "MEDITRACK_TIMEZONE": "UTC",
    "LOG_LEVEL": "WARNING",
}


def _database_name() -> str:
    """Unique per test run and xdist worker, so that concurrent runs never collide."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
    return f"meditrack_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _admin_url():
    base = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    return base, base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )


def _create_postgres_database(name: str) -> str:
    """A fresh database for this run, created from scratch; its URL."""
    base, admin = _admin_url()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is unreachable at {make_url(admin)!r}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    return base.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )


def _drop_postgres_database(name: str) -> None:
    _, admin = _admin_url()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    name = _database_name()
    yield _create_postgres_database(name)
    _drop_postgres_database(name)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    spec = app.test_client().get("/openapi.json").get_json()
    app.extensions["tests.declared"] = (Declared(spec), Recorder(app, set(spec["paths"])))
    return app


# Kept by the database's own triggers as the other tables change (a TRUNCATE or DELETE of
# patients zeroes the totals), so emptying the other tables leaves them right.
KEPT_BY_TRIGGERS = {"patient_totals"}


def _tables_in_delete_order() -> list[str]:
    return [
        table.name
        for table in reversed(db.metadata.sorted_tables)
        if table.name not in KEPT_BY_TRIGGERS
    ]


def _delete_all_sqlite(conn) -> None:
    """DELETE every row; the append-only triggers are lifted for it and put back."""
    guards = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE "
            "'%BEFORE DELETE%'"
        )
    ).all()
    for name, _ in guards:
        conn.execute(text(f"DROP TRIGGER {name}"))
    for table in _tables_in_delete_order():
        conn.execute(text(f"DELETE FROM {table}"))
    for _, sql in guards:
        conn.execute(text(sql))


def empty_tables(conn) -> None:
    """Empty every table in one transaction. The database refuses to empty the audit trail
    (TRUNCATE on PostgreSQL, DELETE on SQLite), so its guards are lifted for this and put
    back before the transaction ends."""
    if conn.dialect.name == "postgresql":
        tables = ", ".join(_tables_in_delete_order())
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_truncate"))
    else:
        _delete_all_sqlite(conn)


@pytest.fixture(autouse=True)
def _clean(request):
    """Each test starts from empty tables and fresh login counters."""
    yield
    if "app" not in request.fixturenames:
        return
    limiter.reset()
    app = request.getfixturevalue("app")
    slots.reset(app)
    declared, recorder = app.extensions["tests.declared"]
    undeclared = sorted({p for answer in recorder.take() for p in declared.problems(answer)})
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            empty_tables(conn)
    assert not undeclared, "Answers that docs/openapi.json does not declare:\n" + "\n".join(
        undeclared
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Account:
    id: int
    email: str
    password: str
    role: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture
def make_account(app):
    """Create an account and sign it in, without spending a request on it."""
    from meditrack.auth import service as auth_service
    from meditrack.auth import tokens
    from meditrack.users.models import Role

    counter = iter(range(1, 10_000))

    def make(
        role: str = "patient",
        *,
        name: str | None = None,
        email: str | None = None,
        password: str = "correct horse battery",
    ) -> Account:
        n = next(counter)
        email = email or f"{role}{n}@example.org"
        with app.app_context():
            user = auth_service.create_user(
                name=name or f"{role.title()} {n}", email=email, password=password, role=Role(role)
            )
            pair = tokens.issue(user)
            db.session.commit()
            return Account(
                user.id, email, password, role, pair["access_token"], pair["refresh_token"]
            )

    return make


@pytest.fixture
def admin(make_account) -> Account:
    return make_account("admin")


@pytest.fixture
def receptionist(make_account) -> Account:
    return make_account("receptionist")


def pytest_collection_modifyitems(config, items):
    """Honour the backend markers: a test marked for one database is not run on the other
    (deselected, not skipped, so that a skip in the summary always means something)."""
    kept, dropped = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        wrong = (backend == "sqlite" and item.get_closest_marker("postgres_only")) or (
            backend == "postgresql" and item.get_closest_marker("sqlite_only")
        )
        (dropped if wrong else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class Factory:
    """Builds records through the API as an admin, and appointments straight into the
    database (their API arrives with scheduling)."""

    def __init__(self, app, client, admin: Account):
        self.app, self.client, self.admin = app, client, admin
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _post(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body, headers=self.admin.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def department(self, **fields) -> dict:
        return self._post("/departments", {"name": f"Department {self._next()}", **fields})

    def doctor(self, **fields) -> dict:
        n = self._next()
        if "department_id" not in fields:
            fields["department_id"] = self.department()["id"]
        body = {
            "first_name": "Doc",
            "last_name": f"Tor{n}",
            "email": f"doctor{n}@example.org",
            "specialization": "General practice",
            **fields,
        }
        return self._post("/doctors", body)

    def patient(self, **fields) -> dict:
        n = self._next()
        body = {
            "first_name": "Pat",
            "last_name": f"Ient{n}",
            "date_of_birth": "1980-05-17",
            **fields,
        }
        return self._post("/patients", body)

    def time_off(self, doctor_id: int, *, days_ahead: int = 30, hours: int = 4) -> dict:
        from datetime import UTC, datetime, timedelta

        start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(microsecond=0)
        body = {
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=hours)).isoformat(),
            "reason": "Training",
        }
        return self._post(f"/doctors/{doctor_id}/time-off", body)

    def appointment(
        self,
        *,
        patient_id: int,
        doctor_id: int,
        start=None,
        minutes: int = 30,
        status: str = "scheduled",
    ) -> int:
        from datetime import UTC, datetime, timedelta

        from meditrack.appointments.models import Appointment
        from meditrack.doctors.models import Doctor

        # Each appointment gets its own hour unless told otherwise, so that they never
        # overlap by accident.
        start = start or datetime.now(UTC) + timedelta(days=1, hours=self._next())
        with self.app.app_context():
            doctor = db.session.get(Doctor, doctor_id)
            row = Appointment(
                patient_id=patient_id,
                doctor_id=doctor_id,
                department_id=doctor.department_id,
                start_time=start,
                end_time=start + timedelta(minutes=minutes),
                status=status,
            )
            db.session.add(row)
            db.session.commit()
            return row.id


@pytest.fixture
def factory(app, client, admin) -> Factory:
    return Factory(app, client, admin)


@pytest.fixture
def doctor_account(make_account, factory):
    """A doctor login linked to a doctor record: (account, doctor dict)."""
    account = make_account("doctor")
    return account, factory.doctor(user_id=account.id)


@pytest.fixture
def patient_account(make_account, factory):
    """A patient login linked to a patient record: (account, patient dict)."""
    account = make_account("patient")
    return account, factory.patient(user_id=account.id)


def count_rows(app, table: str) -> int:
    with app.app_context():
        return db.session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
