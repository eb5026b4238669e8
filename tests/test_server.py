"""The server `make run` starts, through real sockets: slow clients stall nothing, every
answer is problem+json (gunicorn's own refusals too), and no forwarded header is believed
unless TRUSTED_PROXIES says so.

The servers are real gunicorn processes started with the Makefile's arguments, on SQLite
(nothing here depends on the database), once per module on one xdist worker.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import pytest

from tests.servers import BOOT_SECONDS, HOST, ROOT, Server, wait_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.xdist_group("server")]

#: `make run`'s gunicorn arguments (the Makefile's run target, checked below).
MAKE_RUN = ["--config", "python:meditrack.serving.settings", "wsgi:app"]
#: Short deadlines, so that the tests that wait for them stay short.
HEAD_SECONDS = 4
HANG_GUARD = 30  # seconds: a socket that waits longer has hung; never an assertion
SLOW_CLIENTS = 20  # more than the 8 threads a process has
PROBLEM_JSON = "application/problem+json"
SECRET = "server-test-secret-that-is-long-enough-0123456789"


@dataclass
class Raw:
    """An answer read off a socket until the server closed it."""

    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def problem(self) -> dict:
        assert self.headers.get("content-type") == PROBLEM_JSON, (self.status, self.headers)
        document = json.loads(self.body)
        assert document["status"] == self.status
        assert document["type"] == f"urn:meditrack:problem:{document['code']}"
        return document


def parse(data: bytes) -> Raw:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Raw(int(lines[0].split()[1]), headers, body)


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(HANG_GUARD)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def exchange(port: int, data: bytes) -> Raw:
    """Send raw bytes on a new connection; the answer, read until the server closes."""
    with socket.create_connection((HOST, port), timeout=HANG_GUARD) as sock:
        sock.sendall(data)
        return parse(read_all(sock))


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def start(tmp_path_factory, name: str, **settings: str) -> Server:
    log_dir = tmp_path_factory.mktemp(name)
    environment = {
        "DATABASE_URL": f"sqlite:///{log_dir / 'meditrack.db'}",
        "JWT_SECRET_KEY": SECRET,
        "LOG_LEVEL": "INFO",
        "HOST": HOST,
        "PORT": "0",  # the kernel picks; the log says which
        "MEDITRACK_HEAD_TIMEOUT_SECONDS": str(HEAD_SECONDS),
        "MEDITRACK_BODY_TIMEOUT_SECONDS": str(HEAD_SECONDS),
        **settings,
    }
    # Only the control socket differs from `make run`: its one path per user would be
    # taken from other servers running tests at the same time.
    server = Server(name, environment, log_dir, arguments=["--no-control-socket", *MAKE_RUN])
    try:
        wait_for(server.ready, BOOT_SECONDS, f"server {name} to answer /health")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start(tmp_path_factory, "make-run")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    server = start(tmp_path_factory, "behind-a-proxy", TRUSTED_PROXIES="1")
    yield server
    server.stop()


def test_the_makefile_starts_this_server():
    makefile = (ROOT / "Makefile").read_text()
    assert "HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn " + " ".join(MAKE_RUN) in makefile


# Slow clients ----------------------------------------------------------------------------


class Trickle:
    """Sockets that send the start of their request at once and the rest a byte a
    second (never the last byte), from one thread."""

    def __init__(self, port: int, requests: list[tuple[bytes, bytes]]):
        self.rests = [rest for _, rest in requests]
        self.sockets = []
        for start, _ in requests:
            sock = socket.create_connection((HOST, port))
            sock.sendall(start)
            self.sockets.append(sock)
        self.trickled = [0] * len(requests)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for index, sock in enumerate(self.sockets):
                sent, rest = self.trickled[index], self.rests[index]
                if sent < len(rest) - 1:
                    try:
                        sock.send(rest[sent : sent + 1])
                        self.trickled[index] += 1
                    except OSError:
                        pass
            self._stop.wait(1)

    def unanswered(self) -> int:
        """How many sockets the server has neither answered nor closed yet."""
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                count += 1
            finally:
                sock.setblocking(True)
        return count

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(HANG_GUARD)

    def close(self) -> None:
        self.stop()
        for sock in self.sockets:
            sock.close()


def test_slow_clients_stall_nothing_and_are_answered_408(server):
    """Half the slow clients trickle their headers, half a small body; /health is
    answered while all of them are still sending, and each is then answered 408."""
    head = get("/health", "X-Padding: " + "p" * 200)
    body = b'{"email": "someone@example.org", "password": "' + b"x" * 200 + b'"}'
    post = (
        b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    requests = [(head[:1], head[1:])] * (SLOW_CLIENTS // 2) + [(post, body)] * (SLOW_CLIENTS // 2)
    slow = Trickle(server.port, requests)
    try:
        silent = socket.create_connection((HOST, server.port))  # sends nothing at all
        wait_for(lambda: min(slow.trickled) >= 1, HANG_GUARD, "the slow clients to start")
        health = exchange(server.port, get("/health"))
        assert health.status == 200, health
        assert slow.unanswered() == SLOW_CLIENTS
        slow.stop()
        for sock in slow.sockets:
            answer = parse(read_all(sock))
            assert answer.status == 408
            assert answer.problem()["code"] == "request_timeout"
        assert read_all(silent) == b""  # closed without a word: there was no request
        silent.close()
    finally:
        slow.close()


def test_clients_that_never_close_stall_nothing(server):
    """Answered and told `Connection: close`, these clients neither read nor close; the
    server waits for them (so that its answer is not lost to a reset) without blocking."""
    sockets = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((HOST, server.port))
            sock.sendall(get("/health"))
            sockets.append(sock)
        health = exchange(server.port, get("/health"))
        assert health.status == 200, health
        for sock in sockets:  # each got its answer
            assert parse(read_all(sock)).status == 200
    finally:
        for sock in sockets:
            sock.close()


def test_kept_alive_and_pipelined_requests_are_served(server):
    with socket.create_connection((HOST, server.port), timeout=HANG_GUARD) as sock:
        one = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
        sock.sendall(one)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        sock.sendall(one + one + get("/"))  # three at once, the last one closing
        answers = read_all(sock)
    assert answers.count(b"HTTP/1.1 200 OK") == 3, answers


def test_a_body_is_read_whole(server):
    body = json.dumps({"email": "nobody@example.org", "password": "p" * 100_000}).encode()
    request = (
        b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    answer = exchange(server.port, request)
    assert answer.status == 422  # the whole body was read and parsed: it names the field
    assert list(answer.problem()["errors"]) == ["password"]


# Every answer is problem+json ------------------------------------------------------------


LONG = 70 * 1024  # past the server's bound on a head (64 KiB)
REFUSED = {
    # the app answers these
    "a 9000-character query": (get("/health?q=" + "a" * 9000), 414, "uri_too_long"),
    "a 20 KiB header": (get("/health", "X-Big: " + "b" * 20_000), 431, "headers_too_large"),
    "a body over 1 MiB": (
        b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2000000\r\nConnection: close\r\n\r\n{}",
        413,
        "payload_too_large",
    ),
    # the server answers these itself
    "a 70 KiB request line": (get("/health?q=" + "a" * LONG), 414, "uri_too_long"),
    "a 70 KiB header": (get("/health", "X-Big: " + "b" * LONG), 431, "headers_too_large"),
    "101 headers": (
        get("/health", *(f"X-Header-{n}: {n}" for n in range(101))),
        431,
        "headers_too_large",
    ),
    "a NUL byte in a header": (get("/health", "X-Nul: a\x00b"), 400, "bad_request"),
    "a garbage request line": (b"\x16\x03\x01\x02\x00 nonsense\r\n\r\n", 400, "bad_request"),
    "a request line without a version": (b"GET /health\r\n\r\n", 400, "bad_request"),
    "bare line feeds": (b"GET /health HTTP/1.1\nHost: localhost\n\n", 400, "bad_request"),
    "an unknown transfer coding": (
        get("/health", "Transfer-Encoding: rot13"),
        501,
        "not_implemented",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_every_refusal_is_problem_json(server, case):
    request, status, code = REFUSED[case]
    answer = exchange(server.port, request)
    assert answer.status == status, answer
    assert answer.problem()["code"] == code
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"


# Forwarded headers -----------------------------------------------------------------------

FORWARDED = (
    "X-Forwarded-Proto: https",
    "X-Forwarded-Ssl: on",
    "X-Forwarded-Protocol: ssl",
    "X-Forwarded-For: 203.0.113.7",
)


def _logged_request(server: Server, request_id: str) -> dict:
    found: list[dict] = []

    def logged() -> bool:
        for line in server.log().splitlines():
            if request_id in line and line.startswith("{"):
                found.append(json.loads(line))
                return True
        return False

    wait_for(logged, HANG_GUARD, f"the request log line of {request_id}")
    return found[0]


def _forwarded_request(server: Server) -> tuple[Raw, dict]:
    request_id = uuid.uuid4().hex
    answer = exchange(server.port, get("/health", *FORWARDED, f"X-Request-ID: {request_id}"))
    assert answer.status == 200, answer
    return answer, _logged_request(server, request_id)


def test_forwarded_headers_from_loopback_are_not_believed(server):
    """TRUSTED_PROXIES=0: the request is plain HTTP from its real peer, whatever it says."""
    answer, logged = _forwarded_request(server)
    assert "strict-transport-security" not in answer.headers  # sent on HTTPS only
    assert logged["ip"] == "127.0.0.1"


def test_one_trusted_proxy_is_believed(proxied):
    answer, logged = _forwarded_request(proxied)
    assert "strict-transport-security" in answer.headers
    assert logged["ip"] == "203.0.113.7"


# The settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "processes"),
    [
        ({}, 1),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, 1),
        ({"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, "cores"),
        ({"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "WEB_CONCURRENCY": "3"}, 3),
    ],
)
def test_one_process_per_core_only_when_the_counters_are_shared(
    monkeypatch, environment, processes
):
    """With memory:// each process would count failed sign-ins on its own."""
    for name in ("RATELIMIT_STORAGE_URI", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    from meditrack.serving import settings

    try:
        reloaded = importlib.reload(settings)
        expected = len(os.sched_getaffinity(0)) if processes == "cores" else processes
        assert reloaded.workers == expected
    finally:
        monkeypatch.undo()
        importlib.reload(settings)
