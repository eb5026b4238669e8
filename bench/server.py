"""A gunicorn server on loopback for one benchmark run, and its workers' memory."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """How gunicorn serves: the same for the app and for the floor."""

    workers: int = 2
    threads: int = 1  # 1: the sync worker; more: gthread with that many threads

    @property
    def label(self) -> str:
        if self.threads > 1:
            return f"{self.workers} gthread workers x {self.threads} threads"
        return f"{self.workers} sync workers"

    def arguments(self) -> list[str]:
        kind = ["--worker-class", "gthread", "--threads", str(self.threads)]
        if self.threads == 1:
            kind = ["--worker-class", "sync"]
        return ["--workers", str(self.workers), *kind]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving `target` (e.g. wsgi:app) on 127.0.0.1, with an RSS sampler."""

    def __init__(self, target: str, settings: Settings, env: dict[str, str], log: Path):
        self.target = target
        self.settings = settings
        self.env = env
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.memory = Memory()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--bind", f"127.0.0.1:{self.port}",
            *self.settings.arguments(),
            "--timeout", "120",
            "--graceful-timeout", "10",
            "--backlog", "2048",
            "--log-level", "warning",
            self.target,
        ]  # fmt: skip
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self._wait_ready()
        self.memory.start(self.process.pid)

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn {self.target} exited:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2).read()
                if len(self.memory.workers_of(self.process.pid)) >= self.settings.workers:
                    return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn {self.target} did not answer in {timeout:.0f} s")

    def stop(self) -> None:
        self.memory.stop()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._log_file.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def request(self, method: str, path: str, *, token: str | None = None, body=None):
        """(status, parsed JSON or text) of one request: logins and checks."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")[:500]


class Memory:
    """The resident memory of a gunicorn master's workers (and any process they start).

    The kernel keeps each process's peak (VmHWM); mark() reads it and resets it (writing
    5 to /proc/<pid>/clear_refs), so each scenario gets its own peak and the run keeps
    the highest. A sampler every 100 ms backs it up where the reset is not allowed and
    for workers that exit between two marks."""

    INTERVAL = 0.1

    def __init__(self):
        self._sampled = 0
        self.run_peak = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = 0

    def start(self, master: int) -> None:
        self._master = master
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.mark()

    def stop(self) -> None:
        if self._thread:
            self.mark()
            self._stop.set()
            self._thread.join()
            self._thread = None

    def mark(self) -> int:
        """Peak RSS of one worker (bytes) since the previous mark."""
        peak, self._sampled = self._sampled, 0
        for pid in self.workers_of(self._master):
            peak = max(peak, _status_kb(pid, "VmHWM") * 1024)
            with contextlib.suppress(OSError):  # not ours to reset: the sampler remains
                Path(f"/proc/{pid}/clear_refs").write_text("5")
        self.run_peak = max(self.run_peak, peak)
        return peak

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            for pid in self.workers_of(self._master):
                self.pids.add(pid)
                rss = _status_kb(pid, "VmRSS") * 1024
                self._sampled = max(self._sampled, rss)

    @staticmethod
    def workers_of(master: int) -> list[int]:
        found, queue = [], [master]
        while queue:
            pid = queue.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                queue.append(child)
        return found


def _die_with_parent() -> None:
    """In the child, before gunicorn starts: on Linux, ask for SIGTERM when the benchmark
    process dies, however it dies, so that no server outlives its run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return 0.0


def cpu_count() -> int:
    return os.cpu_count() or 1
