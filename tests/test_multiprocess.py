"""MediTrack as several processes: two gunicorn servers, each with two workers, on
loopback ports, sharing one PostgreSQL database and one Redis.

Failed sign-ins are counted across both, a token revoked on one is refused by the other
at once, concurrent bookings split across both never overlap, and SIGTERM lets a request
in flight finish. PostgreSQL only by nature, so not run per backend. Skipped when
PostgreSQL or Redis cannot be reached, except with CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
import redis
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from meditrack import create_app
from meditrack.extensions import db
from tests.conftest import TEST_CONFIG, _create_postgres_database, _drop_postgres_database
from tests.redis_helpers import REDIS_URL, reachable_redis
from tests.scheduling_helpers import future
from tests.servers import (
    GRACEFUL_SECONDS,
    HOST,
    REQUEST_SECONDS,
    Answer,
    Server,
    fire,
    signal_servers,
    start_servers,
    stop_servers,
    wait_for,
)

# One worker runs the whole module, so the servers and their database are built once.
pytestmark = [pytest.mark.postgres_only, pytest.mark.xdist_group("multiprocess")]

EMAIL_LIMIT = 4
PASSWORD = "correct horse battery"
WRONG = "definitely not it"
PROBLEM_JSON = "application/problem+json"
CLIENTS = 24


# Two servers, one database, one Redis ---------------------------------------------------


class Cluster:
    """Servers A and B on one database and one Redis, and the means to inspect both."""

    def __init__(self, settings: dict[str, str], log_dir: Path, store: redis.Redis):
        self.settings = settings  # the servers' environment
        self.log_dir = log_dir
        self.store = store
        self.app: Flask | None = None  # in this process: migrations and accounts
        url = make_url(settings["DATABASE_URL"]).set(drivername="postgresql")
        self.database_url = url.render_as_string(hide_password=False)  # for psycopg
        self.key_prefix = settings["RATELIMIT_KEY_PREFIX"]
        self.servers: dict[str, Server] = {}
        self.admin_token = self.receptionist_token = ""
        self._accounts = self._restarts = 0

    @property
    def a(self) -> Server:
        return self.server("A")

    @property
    def b(self) -> Server:
        return self.server("B")

    def server(self, name: str) -> Server:
        """A running server; a new one in place of one that a test has stopped (the
        shutdown test stops B, and runs last so that this is rarely needed)."""
        if self.servers[name].signalled:
            self._restarts += 1
            label = f"{name}{self._restarts}"
            (self.servers[name],) = start_servers([label], self.settings, self.log_dir)
        return self.servers[name]

    def migrate(self) -> None:
        """Build the schema (run while the servers boot: they need it only per request)."""
        with self.app.app_context():
            upgrade()
            db.engine.dispose()

    def make_user(self, role: str) -> tuple[int, str]:
        """A new account with PASSWORD, straight into the database; (id, email)."""
        from meditrack.auth import service as auth_service
        from meditrack.users.models import Role

        self._accounts += 1
        email = f"{role}{self._accounts}@example.org"
        with self.app.app_context():
            user = auth_service.create_user(
                name=f"{role.title()} {self._accounts}",
                email=email,
                password=PASSWORD,
                role=Role(role),
            )
            db.session.commit()
            return user.id, email

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def post(self, server: Server, path: str, body: dict) -> dict:
        """Create something as the admin; its body."""
        answer = server.request("POST", path, body, token=self.admin_token)
        assert answer.status == 201, answer
        return answer.body


def _database_name() -> str:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
    return f"meditrack_mp_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    store = reachable_redis("multi-process")
    name = _database_name()
    url = _create_postgres_database(name)
    # Counters of this run only: parallel runs and other tests never share them.
    key_prefix = f"meditrack-test-{uuid.uuid4().hex[:12]}"
    settings = {
        "MEDITRACK_ENV": "development",
        "DATABASE_URL": url,
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": key_prefix,
        "MEDITRACK_LOGIN_EMAIL_LIMIT": f"{EMAIL_LIMIT} per 15 minutes",
        "MEDITRACK_TIMEZONE": "UTC",
        "LOG_LEVEL": "WARNING",
    }
    cluster = Cluster(settings, tmp_path_factory.mktemp("servers"), store)
    try:
        cluster.app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        a, b = start_servers(["A", "B"], settings, cluster.log_dir, until_ready=cluster.migrate)
        cluster.servers.update(A=a, B=b)
        cluster.admin_token = sign_in(a, cluster.make_user("admin")[1])["access_token"]
        _, receptionist = cluster.make_user("receptionist")
        cluster.receptionist_token = sign_in(b, receptionist)["access_token"]
        yield cluster
    finally:
        servers = list(cluster.servers.values())
        signal_servers(servers)  # they drain while the rest is cleaned up
        try:
            if cluster.app is not None:
                with cluster.app.app_context():
                    db.engine.dispose()
            _drop_postgres_database(name)
            for key in store.scan_iter(match=f"*{key_prefix}*"):
                store.delete(key)
        finally:
            store.close()
            stop_servers(servers)


# Helpers ---------------------------------------------------------------------------------


def login(server: Server, email: str, password: str) -> Answer:
    return server.request("POST", "/auth/login", {"email": email, "password": password})


def sign_in(server: Server, email: str) -> dict:
    answer = login(server, email, PASSWORD)
    assert answer.status == 200, answer
    return answer.body


def assert_problem(answer: Answer, status: int, code: str) -> dict:
    assert answer.status == status, answer
    assert answer.mimetype == PROBLEM_JSON, answer
    assert answer.body["status"] == status and answer.body["code"] == code, answer.body
    return answer.body


def assert_throttled(answer: Answer) -> None:
    assert_problem(answer, 429, "rate_limited")
    retry_after = answer.headers["retry-after"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 15 * 60, retry_after


def me(server: Server, token: str) -> Answer:
    return server.request("GET", "/auth/me", token=token)


def refresh(server: Server, token: str) -> Answer:
    return server.request("POST", "/auth/refresh", token=token)


# Sequential requests land on either worker of a server; a few of each make it likely
# that both workers of the server are asked.
REPEAT = 4


# Login throttling ----------------------------------------------------------------------


def test_failed_sign_ins_are_counted_across_both_servers(cluster):
    _, email = cluster.make_user("patient")
    servers = (cluster.a, cluster.b)
    for attempt in range(EMAIL_LIMIT):
        assert_problem(login(servers[attempt % 2], email, WRONG), 401, "unauthorized")

    # Each server saw half of the failures (and each worker fewer still): only a shared
    # count reaches the limit. Now both refuse the email, even with the right password.
    for server in servers:
        assert_throttled(login(server, email, WRONG))
        assert_throttled(login(server, email, PASSWORD))

    # The counter lives in Redis, under this run's key prefix, keyed by a digest of the
    # email: the store never holds the address itself.
    keys = [key.decode() for key in cluster.store.scan_iter(match=f"*{cluster.key_prefix}*")]
    assert any(f"{cluster.key_prefix}/login-email/" in key for key in keys), keys
    assert not any(email in key for key in keys), keys

    # Another email is not affected, on either server.
    _, other = cluster.make_user("patient")
    for server in servers:
        assert login(server, other, PASSWORD).status == 200


# Revocation -------------------------------------------------------------------------------


def test_a_sign_out_on_one_server_is_refused_by_the_other_at_once(cluster):
    _, email = cluster.make_user("patient")
    tokens = sign_in(cluster.a, email)
    for _ in range(REPEAT):
        assert me(cluster.b, tokens["access_token"]).status == 200

    answer = cluster.a.request("POST", "/auth/logout", token=tokens["access_token"])
    assert answer.status == 204, answer

    for _ in range(REPEAT):
        assert_problem(me(cluster.b, tokens["access_token"]), 401, "token_revoked")
    assert_problem(refresh(cluster.b, tokens["refresh_token"]), 401, "token_revoked")


def test_a_deactivation_on_one_server_is_refused_by_the_other_at_once(cluster):
    user_id, email = cluster.make_user("receptionist")
    tokens = sign_in(cluster.b, email)
    for _ in range(REPEAT):
        assert me(cluster.b, tokens["access_token"]).status == 200

    answer = cluster.a.request(
        "PATCH", f"/users/{user_id}", {"is_active": False}, token=cluster.admin_token
    )
    assert answer.status == 200 and answer.body["is_active"] is False, answer

    for _ in range(REPEAT):
        assert_problem(me(cluster.b, tokens["access_token"]), 401, "token_revoked")
    assert_problem(refresh(cluster.b, tokens["refresh_token"]), 401, "token_revoked")
    assert_problem(login(cluster.b, email, PASSWORD), 401, "unauthorized")


# Concurrent bookings --------------------------------------------------------------------


def overlapping_pairs(cluster: Cluster, doctor_id: int) -> list[tuple]:
    return cluster.sql(
        "SELECT x.id, y.id FROM appointments x JOIN appointments y ON x.id < y.id "
        "AND x.doctor_id = y.doctor_id AND x.start_time < y.end_time "
        "AND y.start_time < x.end_time WHERE x.doctor_id = %s "
        "AND x.status IN ('scheduled', 'checked_in') AND x.archived_at IS NULL "
        "AND y.status IN ('scheduled', 'checked_in') AND y.archived_at IS NULL",
        (doctor_id,),
    )


def test_concurrent_bookings_split_across_both_servers_never_overlap(cluster):
    department = cluster.post(cluster.a, "/departments", {"name": "Cardiology"})
    doctor = cluster.post(
        cluster.b,
        "/doctors",
        {
            "first_name": "Dana",
            "last_name": "Race",
            "email": "dana.race@example.org",
            "specialization": "Cardiology",
            "department_id": department["id"],
        },
    )
    patients = [
        cluster.post(
            (cluster.a, cluster.b)[i % 2],
            "/patients",
            {"first_name": "Pat", "last_name": f"Ient{i}", "date_of_birth": "1980-05-17"},
        )["id"]
        for i in range(CLIENTS)
    ]
    base = future(days=9, clock="10:00")
    # Even requests go to A, odd ones to B; each server gets every start (+0, +15, +30,
    # +45 minutes, 30 minutes long) from both the admin and the receptionist.
    requests = [
        (
            (cluster.a, cluster.b)[i % 2],
            "POST",
            "/appointments",
            {
                "doctor_id": doctor["id"],
                "patient_id": patient_id,
                "start_time": (base + timedelta(minutes=15 * (i // 2 % 4))).isoformat(),
                "duration_minutes": 30,
            },
            (cluster.admin_token, cluster.receptionist_token)[i // 8 % 2],
        )
        for i, patient_id in enumerate(patients)
    ]

    answers = fire(requests)

    assert all(answer.status in (201, 409) for answer in answers), answers
    for answer in answers:
        if answer.status == 409:
            body = assert_problem(answer, 409, "appointment_conflict")
            assert body["conflicts"], body
    winners = [answer.body for answer in answers if answer.status == 201]
    spans = sorted(
        (datetime.fromisoformat(w["start_time"]), datetime.fromisoformat(w["end_time"]))
        for w in winners
    )
    assert all(earlier[1] <= later[0] for earlier, later in pairwise(spans)), spans
    # A request loses only to a committed booking it overlaps, so the winners always
    # fill the window as far as it goes: two of the four starts, never more.
    assert len(winners) == 2, spans

    stored = cluster.sql(
        "SELECT id FROM appointments WHERE doctor_id = %s ORDER BY id", (doctor["id"],)
    )
    assert [row[0] for row in stored] == sorted(w["id"] for w in winners)
    assert overlapping_pairs(cluster, doctor["id"]) == []


# Graceful shutdown ------------------------------------------------------------------------


def lock_waiters(cluster: Cluster) -> int:
    """Backends of this database waiting for a lock, now."""
    return cluster.sql(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )[0][0]


# Last in the module: it stops server B (a later test would get a new one).
def test_sigterm_lets_a_request_in_flight_finish(cluster):
    doomed = cluster.b
    department = cluster.post(cluster.a, "/departments", {"name": "Neurology"})
    doctor = cluster.post(
        cluster.a,
        "/doctors",
        {
            "first_name": "Nora",
            "last_name": "Drain",
            "email": "nora.drain@example.org",
            "specialization": "Neurology",
            "department_id": department["id"],
        },
    )
    patient = cluster.post(
        cluster.a,
        "/patients",
        {"first_name": "Ina", "last_name": "Flight", "date_of_birth": "1975-01-02"},
    )
    booking = {
        "doctor_id": doctor["id"],
        "patient_id": patient["id"],
        "start_time": future(days=10, clock="09:00").isoformat(),
    }
    answers: list = []

    def book() -> None:
        try:
            answers.append(
                doomed.request("POST", "/appointments", booking, token=cluster.admin_token)
            )
        except Exception as exc:  # reported by the assertion below
            answers.append(exc)

    with psycopg.connect(cluster.database_url) as holder:
        # A booking locks its doctor's row first: holding that lock keeps the booking in
        # flight, inside a worker, for as long as this transaction lasts.
        holder.execute("SELECT id FROM doctors WHERE id = %s FOR UPDATE", (doctor["id"],))
        request = threading.Thread(target=book)
        request.start()
        wait_for(lambda: lock_waiters(cluster) >= 1, REQUEST_SECONDS, "the booking to wait")

        doomed.terminate()
        signalled = time.monotonic()
        # The master has passed SIGTERM on when the idle worker has gone; the busy one
        # is still serving the booking.
        wait_for(
            lambda: doomed.log().count("Worker exiting") >= 1,
            GRACEFUL_SECONDS,
            "the idle worker to exit",
            describe=doomed.log,
        )
        assert request.is_alive() and not answers
        assert doomed.process.poll() is None
        holder.commit()

    request.join(REQUEST_SECONDS)
    assert len(answers) == 1 and isinstance(answers[0], Answer), answers
    assert answers[0].status == 201, answers[0]
    appointment_id = answers[0].body["id"]
    assert cluster.sql("SELECT status FROM appointments WHERE id = %s", (appointment_id,)) == [
        ("scheduled",)
    ]

    assert doomed.wait(GRACEFUL_SECONDS) == 0, doomed.log()
    assert time.monotonic() - signalled < GRACEFUL_SECONDS
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, doomed.port), timeout=5).close()
