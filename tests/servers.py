"""Real gunicorn servers for the multi-process tests.

Each server is started as production starts it (`gunicorn wsgi:app`, sync workers, or the
arguments a test gives, such as `make run`'s) on a port the kernel picks, counts as ready
once GET /health answers, and is stopped with SIGTERM, as a process manager stops it.
HTTP goes through the standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BOOT_SECONDS = 120  # generous: a loaded two-core machine imports the app slowly
REQUEST_SECONDS = 60  # a safety net against a hung request, never an assertion
GRACEFUL_SECONDS = 30  # gunicorn's default graceful_timeout
LISTENING = re.compile(rb"Listening at: http://127\.0\.0\.1:(\d+)")
# Settings are not inherited from the environment of the test run: the servers get exactly
# the ones they are given.
SETTING_PREFIXES = ("MEDITRACK_", "RATELIMIT_", "GUNICORN_")
SETTINGS = {
    "DATABASE_URL",
    "JWT_SECRET_KEY",
    "LOG_LEVEL",
    "CORS_ORIGINS",
    "TRUSTED_PROXIES",
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "FORWARDED_ALLOW_IPS",
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON, or the text

    @property
    def mimetype(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


class Server:
    """One gunicorn master and its workers, in a process group of their own."""

    def __init__(
        self,
        name: str,
        settings: dict[str, str],
        log_dir: Path,
        *,
        workers: int = 2,
        arguments: list[str] | None = None,
    ):
        self.name = name
        self.port: int | None = None
        self.signalled = False
        self.log_path = log_dir / f"{name}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(SETTING_PREFIXES) and key not in SETTINGS
        }
        if arguments is None:
            arguments = [
                "--bind",
                f"{HOST}:0",
                "--workers",
                str(workers),
                # gunicorn's control socket has one default path per user: two servers on
                # one machine would take it from each other.
                "--no-control-socket",
                "--log-level",
                "info",
                "wsgi:app",
            ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *arguments],
                cwd=ROOT,
                env={**env, **settings},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def __repr__(self) -> str:
        return f"<Server {self.name} on port {self.port}>"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        """True once /health answers 200; fails the test if the server died."""
        if self.process.poll() is not None:
            pytest.fail(
                f"server {self.name} exited with {self.process.returncode} before it was "
                f"ready:\n{self.log()}",
                pytrace=False,
            )
        if self.port is None:
            found = LISTENING.search(self.log_path.read_bytes())
            if found is None:
                return False
            self.port = int(found.group(1))
        try:
            return self.request("GET", "/health", timeout=5).status == 200
        except OSError:
            return False

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        timeout: float = REQUEST_SECONDS,
    ) -> Answer:
        """One request on a connection of its own."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        text = raw.decode(errors="replace")
        is_json = answer_headers.get("content-type", "").split(";")[0].endswith("json")
        return Answer(response.status, answer_headers, json.loads(text) if is_json else text)

    def terminate(self) -> None:
        """SIGTERM to the master: stop accepting, let the workers finish, exit."""
        self.process.send_signal(signal.SIGTERM)
        self.signalled = True

    def wait(self, timeout: float) -> int | None:
        """The master's exit status, or None if it is still running after `timeout`."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop the server whatever state it is in. A master that outlives its graceful
        timeout is killed with its workers (their own process group: start_new_session)."""
        if self.process.poll() is not None:
            return
        if not self.signalled:
            self.terminate()
        if self.wait(GRACEFUL_SECONDS + 10) is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_servers(
    names: list[str], settings: dict[str, str], log_dir: Path, *, until_ready=None
) -> list[Server]:
    """Start one server per name at once. Call `until_ready` (if given) while they boot,
    then wait until all of them answer /health."""
    servers: list[Server] = []
    try:
        for name in names:
            servers.append(Server(name, settings, log_dir))
        if until_ready is not None:
            until_ready()
        wait_for(lambda: all(server.ready() for server in servers), BOOT_SECONDS, "/health")
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def signal_servers(servers: list[Server]) -> None:
    """SIGTERM to every server not yet told, so that they drain at the same time."""
    for server in servers:
        if server.process.poll() is None and not server.signalled:
            server.terminate()


def stop_servers(servers: list[Server]) -> None:
    signal_servers(servers)
    for server in servers:
        server.stop()


def wait_for(condition, seconds: float, what: str, *, describe=None) -> None:
    """Poll `condition` until it is true; fail after `seconds` naming `what`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            details = f"\n{describe()}" if describe else ""
            pytest.fail(f"gave up waiting for {what} after {seconds} s{details}", pytrace=False)
        time.sleep(0.05)


def fire(requests: list[tuple[Server, str, str, Any, str]]) -> list[Answer]:
    """Send every (server, method, path, body, token) at once, one thread and connection
    each; the answers in the order of the requests. Any request that failed at the
    transport level fails the test."""
    barrier = threading.Barrier(len(requests))
    answers: list[Answer | BaseException | None] = [None] * len(requests)

    def send(index: int, server: Server, method: str, path: str, body: Any, token: str) -> None:
        try:
            barrier.wait(REQUEST_SECONDS)
            answers[index] = server.request(method, path, body, token=token)
        except Exception as exc:  # reported below, with the request that failed
            answers[index] = exc

    threads = [
        threading.Thread(target=send, args=(index, *request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_SECONDS * 2)
    failed = [
        (requests[index][:3], answer)
        for index, answer in enumerate(answers)
        if not isinstance(answer, Answer)
    ]
    assert not failed, failed
    return answers  # type: ignore[return-value]
