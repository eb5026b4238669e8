"""The database goes away and comes back: PostgreSQL reached through a proxy the tests cut.

While it is away every request is a quick 503 problem that gives nothing away; once it is
back the same app, or the same running server, serves again without a restart; and a
request that dies halfway through its transaction leaves nothing behind.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from meditrack import create_app
from meditrack.config import CONNECT_TIMEOUT_SECONDS, POOL_RECYCLE_SECONDS
from meditrack.core.errors import Forbidden
from meditrack.extensions import db
from meditrack.patients import service as patients_service
from tests.api_helpers import assert_problem
from tests.conftest import (
    TEST_CONFIG,
    _create_postgres_database,
    _database_name,
    _drop_postgres_database,
    count_rows,
    empty_tables,
)
from tests.scheduling_helpers import future
from tests.tcp_proxy import TcpProxy

#: What a 503 must never show: a traceback, SQL, the driver, where the database lives.
LEAKS = (
    "Traceback",
    "psycopg",
    "sqlalchemy",
    "SELECT",
    "INSERT",
    "postgresql",
    "127.0.0.1",
    "5432",
    "connection",
    "password",
)
#: A request while the database is away must not hang; it fails fast.
QUICK_SECONDS = 3.0  # well under the connect timeout: no waiting for it
PASSWORD = "correct horse battery"
NURSE = "nurse@example.org"
NEW_PATIENT = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1985-12-10"}


# --- the database, the proxy and the app behind it ---------------------------------------


# One worker runs the whole module, so its database and proxy are built once.
pytestmark = pytest.mark.xdist_group("db_faults")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    name = f"{_database_name()}_faults"
    url = _create_postgres_database(name)  # under CI=true an unreachable server fails
    yield url
    _drop_postgres_database(name)


@pytest.fixture(scope="module")
def direct(pg_url) -> Iterator[Flask]:
    """An app that reaches the database straight, never through the proxy: it builds the
    schema and is the witness of what was stored."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": pg_url})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def proxy(pg_url) -> Iterator[TcpProxy]:
    url = make_url(pg_url)
    with TcpProxy(url.port or 5432, url.host or "127.0.0.1") as running:
        yield running


@pytest.fixture(scope="module")
def served(direct, proxy, pg_url) -> Iterator[Flask]:
    """The app under test, built the way production builds it: from DATABASE_URL (so with
    the engine options of a PostgreSQL URL), which points at the proxy."""
    through_proxy = make_url(pg_url).set(host="127.0.0.1", port=proxy.port)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", through_proxy.render_as_string(hide_password=False))
        app = create_app(TEST_CONFIG)
    yield app
    with app.app_context():
        db.engine.dispose()


@dataclass
class World:
    app: Flask
    direct: Flask
    proxy: TcpProxy
    client: FlaskClient
    admin: dict[str, str]

    def rows(self, table: str, where: str = "TRUE") -> int:
        """Counted straight in the database, whatever state the proxy is in."""
        with self.direct.app_context():
            return db.session.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {where}")).scalar()

    def engine(self) -> Engine:
        with self.app.app_context():
            return db.engine


@pytest.fixture
def world(served, direct, proxy) -> Iterator[World]:
    """An admin signed in, the proxy up; afterwards the proxy is up again and the tables
    are emptied, straight in the database."""
    admin = make_login(direct, "admin")
    yield World(served, direct, proxy, served.test_client(), admin)
    proxy.restore()
    with direct.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            empty_tables(conn)


def make_login(app: Flask, role: str, email: str | None = None) -> dict[str, str]:
    """An account of this role, signed in straight in the database: its auth headers."""
    from meditrack.auth import service as auth_service
    from meditrack.auth import tokens
    from meditrack.users.models import Role

    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with app.app_context():
        user = auth_service.create_user(
            name=role.title(), email=email, password=PASSWORD, role=Role(role)
        )
        pair = tokens.issue(user)
        db.session.commit()
        return {"Authorization": f"Bearer {pair['access_token']}"}


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def error_log(monkeypatch) -> Iterator[list[str]]:
    """What the server logs about errors."""
    logger = logging.getLogger("meditrack.core.errors")
    # A migration's logging setup (fileConfig) may have disabled loggers made before it.
    monkeypatch.setattr(logger, "disabled", False)
    handler = Lines()
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


# --- what the answers must look like ----------------------------------------------------


def assert_unavailable(response) -> None:
    """A 503 problem with Retry-After, and nothing in it about the database."""
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"].isdigit()
    assert_nothing_leaks(response.get_data(as_text=True))


def assert_nothing_leaks(body: str) -> None:
    for leak in LEAKS:
        assert leak.lower() not in body.lower(), (leak, body)


def timed(call: Callable[[], object]):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def one_of_each(world: World) -> dict[str, Callable]:
    """An authenticated read and write, a sign-in and the health check."""
    client, admin = world.client, world.admin
    return {
        "read": lambda: client.get("/patients", headers=admin),
        "write": lambda: client.post("/patients", json=NEW_PATIENT, headers=admin),
        "login": lambda: client.post("/auth/login", json={"email": NURSE, "password": PASSWORD}),
        "health": lambda: client.get("/health"),
    }


SUCCESS = {"read": 200, "write": 201, "login": 200, "health": 200}


# --- the database is away, then back ----------------------------------------------------


def test_while_the_database_is_away_every_request_is_a_quick_503(world):
    make_login(world.direct, "receptionist", email=NURSE)
    assert world.client.get("/patients", headers=world.admin).status_code == 200
    world.proxy.cut()

    for name, call in one_of_each(world).items():
        response, seconds = timed(call)
        assert_unavailable(response)
        assert seconds < QUICK_SECONDS, name

    assert world.rows("patients") == 0
    assert world.rows("audit_events") == 0
    assert world.rows("auth_sessions") == 2  # the two made straight in the database


def test_the_cause_is_logged_on_the_server_and_not_shown(world, error_log):
    world.proxy.cut()

    patients = world.client.get("/patients", headers=world.admin)
    health = world.client.get("/health")

    assert_unavailable(patients)
    assert_unavailable(health)
    assert health.get_json()["database"] == "unavailable"
    assert len(error_log) == 2
    for line, route in zip(error_log, ("GET /patients", "GET /health"), strict=True):
        assert route in line
        assert "OperationalError: " in line
        assert "server closed the connection unexpectedly" in line


def test_the_same_app_serves_again_once_the_database_is_back(world):
    make_login(world.direct, "receptionist", email=NURSE)
    calls = one_of_each(world)
    world.proxy.cut()
    for call in calls.values():
        assert_unavailable(call())

    world.proxy.restore()

    for name, call in calls.items():
        assert call().status_code == SUCCESS[name], name
    assert world.rows("patients") == 1


def test_a_pooled_connection_that_died_meanwhile_is_replaced_not_handed_out(world):
    """The database restarts between two requests: the pool still holds the connection of
    the first one, now dead; the second request must get a fresh one."""
    assert world.client.get("/patients", headers=world.admin).status_code == 200
    assert world.engine().pool.checkedin() >= 1
    connected = world.proxy.accepted

    world.proxy.cut()
    world.proxy.restore()

    response = world.client.get("/patients", headers=world.admin)
    assert response.status_code == 200, response.get_json()
    assert world.proxy.accepted > connected


def test_the_pool_pings_and_recycles_its_connections(world):
    pool = world.engine().pool
    assert pool._pre_ping
    assert pool._recycle == POOL_RECYCLE_SECONDS


def test_a_database_that_does_not_answer_is_a_503_within_the_connect_timeout(world):
    """No refusal, no answer at all (a network black hole): the connect timeout ends it."""
    world.proxy.black_hole()
    answer: dict = {}

    def ask() -> None:
        answer["response"], answer["seconds"] = timed(
            lambda: world.client.get("/patients", headers=world.admin)
        )

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(timeout=CONNECT_TIMEOUT_SECONDS + 5)
    hung = asking.is_alive()
    world.proxy.restore()  # lets a hung request go, so the test ends either way
    asking.join(timeout=10)

    assert not hung, "the request hung on a database that does not answer"
    assert_unavailable(answer["response"])
    assert world.client.get("/patients", headers=world.admin).status_code == 200


# --- a real server process ----------------------------------------------------------------


@contextmanager
def running_server(app: Flask) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=5)


def fetch(port: int, method: str, path: str, headers=None, body=None) -> SimpleNamespace:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=QUICK_SECONDS * 5)
    payload = json.dumps(body) if body is not None else None
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if payload else {})}
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return SimpleNamespace(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            text=response.read().decode(),
        )
    finally:
        conn.close()


def test_a_running_server_recovers_without_a_restart(world):
    with running_server(world.app) as port:
        calls = {
            "read": lambda: fetch(port, "GET", "/patients", world.admin),
            "write": lambda: fetch(port, "POST", "/patients", world.admin, NEW_PATIENT),
            "health": lambda: fetch(port, "GET", "/health"),
        }
        assert calls["read"]().status == 200

        world.proxy.cut()
        answers: list = []
        threads = [
            threading.Thread(target=lambda call=call: answers.append(timed(call)))
            for call in list(calls.values()) * 3
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=QUICK_SECONDS * 5)
        assert len(answers) == len(threads)
        for response, seconds in answers:
            assert response.status == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"].isdigit()
            assert json.loads(response.text)["code"] == "service_unavailable"
            assert_nothing_leaks(response.text)
            assert seconds < QUICK_SECONDS

        world.proxy.restore()
        assert calls["read"]().status == 200
        assert calls["write"]().status == 201
        assert calls["health"]().status == 200
    assert world.rows("patients") == 1


# --- a request that dies halfway ----------------------------------------------------------


@contextmanager
def cut_after(world: World, statement_start: str) -> Iterator[list[str]]:
    """Cut the proxy right after the first statement that starts so has run: its
    transaction dies halfway. Yields the statements seen, to show where it died."""
    seen: list[str] = []
    engine = world.engine()

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)
        if world.proxy.is_up and statement.lstrip().upper().startswith(statement_start):
            world.proxy.cut()

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)


@contextmanager
def cut_at_rollback(world: World) -> Iterator[None]:
    """Cut the proxy as a transaction is rolled back: the ROLLBACK itself fails."""
    engine = world.engine()

    def cut(conn) -> None:
        world.proxy.cut()

    event.listen(engine, "rollback", cut)
    try:
        yield
    finally:
        event.remove(engine, "rollback", cut)


def created_events(world: World, resource_type: str) -> int:
    return world.rows("audit_events", f"action = 'create' AND resource_type = '{resource_type}'")


def test_a_new_patient_cut_off_before_commit_leaves_no_trace(world, error_log):
    with cut_after(world, "INSERT INTO PATIENTS") as seen:
        response = world.client.post("/patients", json=NEW_PATIENT, headers=world.admin)

    assert_unavailable(response)
    assert any(statement.startswith("INSERT INTO patients") for statement in seen)
    # the log names the failure, not the statement nor the patient's data
    assert error_log and "POST /patients" in error_log[0]
    assert not any(word in error_log[0] for word in ("INSERT", "Lovelace", "1985"))
    world.proxy.restore()
    assert world.rows("patients") == 0
    assert world.rows("audit_events") == 0
    # the same request, sent again, lands whole
    again = world.client.post("/patients", json=NEW_PATIENT, headers=world.admin)
    assert again.status_code == 201
    assert (world.rows("patients"), created_events(world, "patient")) == (1, 1)


def test_a_booking_cut_off_before_commit_leaves_no_trace_and_can_be_retried(world):
    client, admin = world.client, world.admin
    department = client.post("/departments", json={"name": "Cardiology"}, headers=admin)
    doctor = client.post(
        "/doctors",
        json={
            "first_name": "Doc",
            "last_name": "Tor",
            "email": "doc@example.org",
            "specialization": "Cardiology",
            "department_id": department.get_json()["id"],
        },
        headers=admin,
    ).get_json()
    patient = client.post("/patients", json=NEW_PATIENT, headers=admin).get_json()
    booking = {
        "patient_id": patient["id"],
        "doctor_id": doctor["id"],
        "start_time": future(days=3).isoformat(),
    }
    headers = {**admin, "Idempotency-Key": "booking-1"}

    with cut_after(world, "INSERT INTO APPOINTMENTS"):
        response = client.post("/appointments", json=booking, headers=headers)

    assert_unavailable(response)
    world.proxy.restore()
    for table in ("appointments", "appointment_events", "idempotency_records"):
        assert world.rows(table) == 0, table
    assert created_events(world, "appointment") == 0
    # a retry with the same key books it, once
    first = client.post("/appointments", json=booking, headers=headers)
    replayed = client.post("/appointments", json=booking, headers=headers)
    assert first.status_code == replayed.status_code == 201
    assert first.get_json()["id"] == replayed.get_json()["id"]
    assert (world.rows("appointments"), created_events(world, "appointment")) == (1, 1)


def test_a_bug_is_answered_as_a_bug_even_when_the_database_dies_with_it(
    world, monkeypatch, error_log
):
    """The rollback after the bug fails as well (the database went away meanwhile): the
    answer is still the bug's 500, logged as such, not a 503 that hides it."""
    create = patients_service.create_patient

    def create_then_fail(**kwargs):
        create(**kwargs)
        world.proxy.cut()
        raise RuntimeError("a bug")

    monkeypatch.setattr(patients_service, "create_patient", create_then_fail)
    response = world.client.post("/patients", json=NEW_PATIENT, headers=world.admin)

    assert_problem(response, 500, "internal_error")
    assert_nothing_leaks(response.get_data(as_text=True))
    assert any("unhandled error on POST /patients" in line for line in error_log)
    world.proxy.restore()
    assert world.rows("patients") == 0


# --- a refusal is answered only with its audit event --------------------------------------


def test_a_refused_sign_in_whose_event_is_cut_off_is_a_503_and_leaves_no_trace(world):
    """The event of a refusal is written after the rollback: when the database dies while
    it is written, the answer is a 503 (never a refusal without its event), and no half of
    it remains."""
    make_login(world.direct, "receptionist", email=NURSE)
    wrong = {"email": NURSE, "password": "not the password"}

    with cut_after(world, "INSERT INTO AUDIT_EVENTS"):
        response = world.client.post("/auth/login", json=wrong)

    assert_unavailable(response)
    world.proxy.restore()
    assert world.rows("audit_events") == 0
    assert_problem(world.client.post("/auth/login", json=wrong), 401, "unauthorized")
    assert world.rows("audit_events", "outcome = 'failed'") == 1


@pytest.mark.parametrize("cut_where", ["inserting its event", "rolling back"])
def test_a_denied_read_cut_off_is_a_503_and_leaves_no_trace(world, cut_where):
    other = world.client.post("/patients", json=NEW_PATIENT, headers=world.admin).get_json()
    doctor = make_login(world.direct, "doctor")  # none of their patients
    events = world.rows("audit_events")
    cut = (
        cut_after(world, "INSERT INTO AUDIT_EVENTS")
        if cut_where == "inserting its event"
        else cut_at_rollback(world)
    )

    with cut:
        response = world.client.get(f"/patients/{other['id']}", headers=doctor)

    assert_unavailable(response)
    world.proxy.restore()
    assert world.rows("audit_events") == events
    assert_problem(world.client.get(f"/patients/{other['id']}", headers=doctor), 404, "not_found")
    assert world.rows("audit_events", "outcome = 'denied'") == 1


# --- failures after a flush, without the proxy (both databases) ------------------------------


def test_an_unexpected_error_after_a_flush_is_a_500_and_leaves_no_row(
    app, client, admin, monkeypatch
):
    create = patients_service.create_patient

    def create_then_fail(**kwargs):
        patient = create(**kwargs)
        db.session.flush()
        assert patient.id is not None  # the row reached the database
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(patients_service, "create_patient", create_then_fail)
    response = client.post("/patients", json=NEW_PATIENT, headers=admin.headers)

    body = assert_problem(response, 500, "internal_error")
    assert set(body) == {"type", "title", "status", "detail", "code"}
    shown = response.get_data(as_text=True)
    assert "Traceback" not in shown and "secret detail" not in shown
    assert count_rows(app, "patients") == 0
    assert count_rows(app, "audit_events") == 0


def test_a_refusal_after_a_flush_writes_its_event_and_not_the_row(app, client, admin, monkeypatch):
    """The refusal's event is written after the rollback, in a transaction of its own: the
    row flushed before the refusal must not ride along with it."""
    create = patients_service.create_patient

    def create_then_refuse(**kwargs):
        create(**kwargs)
        db.session.flush()
        raise Forbidden("Not this one.")

    monkeypatch.setattr(patients_service, "create_patient", create_then_refuse)
    response = client.post("/patients", json=NEW_PATIENT, headers=admin.headers)

    assert_problem(response, 403, "forbidden")
    assert count_rows(app, "patients") == 0
    with app.app_context():
        events = db.session.execute(text("SELECT action, outcome FROM audit_events")).all()
    assert [tuple(row) for row in events] == [("create", "denied")]
