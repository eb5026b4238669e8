"""Run the committed request collection with newman against a fresh demo hospital.

    .venv/bin/python scripts/run_collection.py    (or: make collection-test)

Like `make run`: the migrations and the demo data go into a new SQLite database in a
temporary directory, and gunicorn serves it with meditrack.serving.settings, on a port
the kernel picks. Once /health answers, tools/node_modules/.bin/newman runs
docs/meditrack.postman_collection.json twice with baseUrl pointing at it; the server is
stopped afterwards whatever happened. The exit status is newman's: non-zero when any
assertion fails. Needs Node (`npm ci --prefix tools`); `make run` and `make test` do not.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NEWMAN = ROOT / "tools" / "node_modules" / ".bin" / "newman"
COLLECTION = ROOT / "docs" / "meditrack.postman_collection.json"
HOST = "127.0.0.1"
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
BOOT_SECONDS = 120
#: `make run`'s server; no control socket, so that a `make run` beside it keeps its own.
SERVER = ["--config", "python:meditrack.serving.settings", "--no-control-socket", "wsgi:app"]
#: Settings of the environment the server is not given: it gets exactly the ones below.
SETTING_PREFIXES = ("MEDITRACK_", "RATELIMIT_", "GUNICORN_")
SETTINGS = {"DATABASE_URL", "JWT_SECRET_KEY", "HOST", "PORT", "WEB_CONCURRENCY"}


def server_environment(workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SETTING_PREFIXES) and key not in SETTINGS
    }
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'meditrack.db'}",
        JWT_SECRET_KEY="collection-run-" + os.urandom(24).hex(),
        HOST=HOST,
        PORT="0",
    )
    return env


def prepare(env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=env, check=True)


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn as `make run` starts it, in a process group of its own."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), *SERVER],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_port(process: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}:\n{log.read_text()}")
        found = LISTENING.search(log.read_text(errors="replace"))
        if found and healthy(int(found.group(1))):
            return int(found.group(1))
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health in {BOOT_SECONDS} s:\n{log.read_text()}")


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main() -> int:
    if not NEWMAN.exists():
        print("newman is missing: run npm ci --prefix tools", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="meditrack-collection-") as tmp:
        workdir = Path(tmp)
        env = server_environment(workdir)
        prepare(env)
        log = workdir / "server.log"
        server = start_server(env, log)
        try:
            port = wait_for_port(server, log)
            # Twice over: a second session on the same server must pass too, as it does
            # for someone who runs the collection again against their `make run`.
            newman = [str(NEWMAN), "run", str(COLLECTION), "--iteration-count", "2"]
            newman += ["--color", "off"]
            run = subprocess.run(
                [*newman, "--env-var", f"baseUrl=http://{HOST}:{port}"], cwd=ROOT, check=False
            )
        finally:
            stop(server)
        if run.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-40:]
            print("newman failed; the end of the server's log:", *tail, sep="\n", file=sys.stderr)
        return run.returncode


if __name__ == "__main__":
    sys.exit(main())
