"""Driving load with wrk: one run of a file of prepared requests, and its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "requests.lua"
MISSING = """wrk, the HTTP load generator, was not found.

Install it:  sudo apt-get install wrk    (Debian, Ubuntu)
             brew install wrk            (macOS)
or point at a binary you built:  WRK=/path/to/wrk make bench
"""


def find_wrk() -> str:
    """The wrk binary (WRK=/path overrides PATH); exits with how to get it if missing."""
    configured = os.environ.get("WRK")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise SystemExit(f"WRK={configured} is not an executable file.\n\n{MISSING}")
        return configured
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(MISSING)
    return found


@dataclass(frozen=True)
class Load:
    """How hard and how long: wrk's -t, -c and -d."""

    connections: int
    seconds: float
    threads: int = 1


@dataclass
class Figures:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    bytes_per_request: float
    repeated: int  # requests sent more than once (their share of lines ran out)

    @classmethod
    def parse(cls, output: str) -> Figures:
        line = next((row for row in output.splitlines() if row.startswith("BENCH_RESULT ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
        raw = json.loads(line.removeprefix("BENCH_RESULT "))
        seconds = raw["duration_us"] / 1e6
        requests = raw["requests"]
        return cls(
            requests=requests,
            seconds=seconds,
            rps=requests / seconds if seconds else 0.0,
            p50_ms=raw["p50_us"] / 1000,
            p90_ms=raw["p90_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            mean_ms=raw["mean_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            non_2xx=raw["non_2xx"],
            socket_errors=raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
            timeouts=raw["timeouts"],
            bytes_per_request=raw["bytes"] / requests if requests else 0.0,
            repeated=max(0, raw["sent"] - raw["prepared"]),
        )


def run(wrk: str, url: str, requests_file: Path, token: str | None, load: Load) -> Figures:
    """Run wrk against `url` replaying `requests_file`; its figures."""
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_TOKEN": token or "",
        "BENCH_THREADS": str(load.threads),
    }
    command = [
        wrk,
        "--threads", str(load.threads),
        "--connections", str(max(load.connections, load.threads)),
        "--duration", f"{max(1, round(load.seconds))}s",
        "--timeout", "60s",
        "--latency",
        "--script", str(LUA),
        url,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return Figures.parse(result.stdout)
