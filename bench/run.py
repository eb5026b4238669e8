"""Benchmark MediTrack: build (or reuse) a database of a chosen size, serve the app with
gunicorn on loopback, drive each scenario with wrk, measure a bare WSGI floor in the same
run, and print one table (also written as JSON under bench/results/).

    python -m bench.run                       # 100 000 patients
    python -m bench.run --quick               # 10 000 patients, short runs
    python -m bench.run --patients 1000000 --compare 10000
    python -m bench.run --scenarios patient_get,report --duration 30
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import build_db, loadgen, scenarios, shapes
from bench.fill import login_email
from bench.scenarios import FLASK_FLOOR, FLOOR, Hospital, Scenario
from bench.server import ROOT, Server, Settings, cpu_count, loadavg
from bench.targets import evaluate

RESULTS = Path(__file__).resolve().parent / "results"
MB = 1024 * 1024
#: Fewer requests than this in a run, and latency is taken from SERIAL requests made
#: one at a time; a first request slower than SLOW_MS needs no warm-up.
MIN_SAMPLES, SERIAL, SLOW_MS = 5, 3, 1000


@dataclass
class Row:
    """One scenario measured at one size."""

    scenario: str
    title: str
    role: str
    patients: int
    rows: int
    rows_table: str
    connections: int
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    timeouts: int = 0
    repeated: int = 0
    kb_per_response: float = 0.0
    rss_peak_mb: float = 0.0
    floor_ratio: float | None = None
    growth: float | None = None
    serial: int = 0  # latency from this many requests made one at a time (too slow for wrk)
    error: str | None = None
    checked: dict = field(default_factory=dict)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.show:
        show(args.show)
        return
    # A plain kill stops the run like Ctrl-C does: the servers it started stop with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    wrk = loadgen.find_wrk()
    settings = Settings(workers=args.workers, threads=args.threads)
    # One request in flight per worker thread: the server never idles, no request queues.
    connections = args.connections or settings.workers * settings.threads
    load = loadgen.Load(connections=connections, seconds=args.duration)
    warmup = loadgen.Load(connections=connections, seconds=args.warmup)
    chosen = scenarios.select(args.scenarios)
    sizes = [args.patients] + [size for size in (args.compare,) if size]
    started = datetime.now(UTC)
    busy = loadavg()
    code = _git()  # the code the run measures (it may change under a long run)
    if busy > cpu_count() / 2:
        print(
            f"note: load average {busy:.1f} on {cpu_count()} cores before the run: other "
            "processes are using the machine, so these figures will be noisy.\n"
        )
    runs = []
    with tempfile.TemporaryDirectory(prefix="meditrack-bench-") as scratch:
        for size in sizes:
            meta = build_db.ensure(size, rebuild=args.rebuild)
            runs.append(_run_size(size, meta, chosen, settings, load, warmup, wrk, Path(scratch)))
    report = _report(args, settings, load, warmup, started, busy, runs, wrk, code)
    print()
    print(render(report))
    path = _write(report)
    print(f"\nWritten to {path.relative_to(ROOT)}")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--patients", type=int, default=100_000, help="database size")
    parser.add_argument(
        "--quick", action="store_true", help="10 000 patients, 3 s per scenario (1 s warm-up)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker: 1, the sync worker (default)"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds per scenario (15)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds (2)")
    parser.add_argument(
        "--connections", type=int, default=None, help="wrk connections (workers x threads)"
    )
    parser.add_argument("--scenarios", help="comma-separated name prefixes, e.g. patient,report")
    parser.add_argument(
        "--compare", type=int, default=None, help="also run at this size, for the p50 growth"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database(s)")
    parser.add_argument("--show", type=Path, help="print a saved run (a JSON file) again")
    args = parser.parse_args(argv)
    if args.quick:
        args.patients = 10_000 if args.patients == 100_000 else args.patients
        args.duration = args.duration or 3
        args.warmup = args.warmup if args.warmup is not None else 1
    args.duration = args.duration or 15
    args.warmup = args.warmup if args.warmup is not None else 2
    return args


def _run_size(
    size: int,
    meta: dict,
    chosen: list[Scenario],
    settings: Settings,
    load: loadgen.Load,
    warmup: loadgen.Load,
    wrk: str,
    scratch: Path,
) -> dict:
    name = build_db.database_name(size)
    url = build_db.database_url(name)
    with build_db.connect(name) as conn:
        hospital = Hospital.load(conn, name, size)
    env = {
        **build_db.app_environment(url),
        "MEDITRACK_ENV": "production",
        "MEDITRACK_ACCESS_TOKEN_SECONDS": str(24 * 3600),
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    print(f"\n{name}: {settings.label}, {load.connections} connections, {load.seconds:g} s each")
    rows: list[Row] = []
    code = _git()
    with Server("wsgi:app", settings, env, scratch / f"app-{size}.log") as server:
        server.memory.mark()
        tokens = _login(server, {scenario.role for scenario in chosen})
        login_peak = server.memory.mark()
        for scenario in chosen:
            rows.append(
                _measure(
                    server,
                    scenario,
                    hospital,
                    tokens.get(scenario.role),
                    load,
                    warmup,
                    wrk,
                    scratch,
                )
            )
        server.memory.mark()
        app_peak, app_workers = server.memory.run_peak, len(server.memory.pids)
    floor_peak = 0
    if any(scenario.name == "patient_get" or scenario.floored for scenario in chosen):
        floor_env = {**env, "BENCH_FLOOR_DSN": url}
        with Server("bench.floor:app", settings, floor_env, scratch / f"floor-{size}.log") as floor:
            rows.append(_measure(floor, FLOOR, hospital, None, load, warmup, wrk, scratch))
            floor.memory.mark()
            floor_peak = floor.memory.run_peak
        flask_log = scratch / f"flask-floor-{size}.log"
        with Server("bench.flask_floor:app", settings, floor_env, flask_log) as bare_flask:
            rows.append(
                _measure(bare_flask, FLASK_FLOOR, hospital, None, load, warmup, wrk, scratch)
            )
        by_name = {row.scenario: row for row in rows}
        if by_name["floor_patient_get"].rps:
            for scenario in ("patient_get", "flask_floor_patient_get"):
                if scenario in by_name:
                    by_name[scenario].floor_ratio = round(
                        by_name[scenario].rps / by_name["floor_patient_get"].rps, 3
                    )
            # A chart may be too slow for wrk (timed one request at a time, no req/s): its
            # ratio is of latencies, the floor's p50 over its own (one request in flight
            # per connection, so the same as req/s where both exist).
            floor_p50 = by_name["floor_patient_get"].p50_ms
            for scenario in chosen:
                row = by_name[scenario.name]
                if scenario.floored and row.p50_ms and floor_p50:
                    row.floor_ratio = round(floor_p50 / row.p50_ms, 6)
    return {
        "patients": size,
        "database": name,
        "git": code,
        "build": {k: v for k, v in meta.items() if k != "exists"},
        "rows": [asdict(row) for row in rows],
        "app_worker_peak_rss_mb": round(app_peak / MB, 1),
        "app_worker_processes_seen": app_workers,
        "app_worker_peak_rss_at_login_mb": round(login_peak / MB, 1),
        "floor_worker_peak_rss_mb": round(floor_peak / MB, 1),
    }


def _login(server: Server, roles: set[str]) -> dict[str, str]:
    tokens = {}
    for role in sorted(role for role in roles if role):
        status, body = server.request(
            "POST", "/auth/login", body={"email": login_email(role), "password": shapes.PASSWORD}
        )
        if status != 200:
            raise SystemExit(f"login as {role} failed ({status}): {body}\n{server.log_tail()}")
        tokens[role] = body["access_token"]
    return tokens


def _measure(
    server: Server,
    scenario: Scenario,
    hospital: Hospital,
    token: str | None,
    load: loadgen.Load,
    warmup: loadgen.Load,
    wrk: str,
    scratch: Path,
) -> Row:
    row = Row(
        scenario=scenario.name,
        title=scenario.title,
        role=scenario.role,
        patients=hospital.patients,
        rows=hospital.counts.get(scenario.table, 0),
        rows_table=scenario.table,
        connections=load.connections,
    )
    rng = random.Random(zlib.crc32(scenario.name.encode()))
    if scenario.distinct:
        needed = 1 + round(scenarios.MAX_BOOKINGS_PER_SECOND * (load.seconds + warmup.seconds))
    else:
        needed = 20_000
    lines = scenario.build(hospital, rng, needed)
    check, warm, measured = lines[0], lines, lines
    if scenario.distinct:
        split = 1 + round(scenarios.MAX_BOOKINGS_PER_SECOND * warmup.seconds)
        warm, measured = lines[1:split], lines[split:]
    # One request first, to see it answers as it should: a benchmark of errors is no use.
    check_ms, status, answer = _timed(server, check, token)
    row.checked = {"request": check.split("\t")[1], "status": status, "ms": round(check_ms, 1)}
    if not 200 <= status < 300:
        row.error = f"{check.split(chr(9))[1]} answered {status}: {str(answer)[:300]}"
        print(f"  {scenario.name:<22} skipped: {row.error}")
        return row
    files = {}
    for label, chunk in (("warm", warm), ("measure", measured)):
        files[label] = scratch / f"{hospital.patients}-{scenario.name}-{label}.tsv"
        files[label].write_text("\n".join(chunk) + "\n")
    if warmup.seconds > 0 and check_ms < SLOW_MS:  # a slow request has warmed up by itself
        loadgen.run(wrk, server.url, files["warm"], token, warmup)
        _drain(hospital.database)
    warm_peak = server.memory.mark()
    figures = loadgen.run(wrk, server.url, files["measure"], token, load)
    _drain(hospital.database)
    for name in ("requests", "rps", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms",
                 "non_2xx", "socket_errors", "timeouts", "repeated"):  # fmt: skip
        setattr(row, name, getattr(figures, name))
    row.rps = round(row.rps, 2)
    if not scenario.distinct:
        row.repeated = 0  # a few prepared requests, replayed: nothing needs to differ
    row.kb_per_response = round(figures.bytes_per_request / 1024, 1)
    if not figures.requests:  # the body's size, at least (headers left out)
        row.kb_per_response = round(len(json.dumps(answer)) / 1024, 1)
    if figures.requests < MIN_SAMPLES and not scenario.distinct:
        # Too slow for wrk to say much: time a few requests one at a time instead.
        more = [lines[i % len(lines)] for i in range(1, SERIAL)]
        times = [check_ms] + [_timed(server, line, token)[0] for line in more]
        times.sort()
        row.p50_ms, row.p90_ms = times[len(times) // 2], times[-1]
        row.p99_ms, row.max_ms = times[-1], times[-1]
        row.mean_ms = sum(times) / len(times)
        row.serial = len(times)
    row.rss_peak_mb = round(max(warm_peak, server.memory.mark()) / MB, 1)
    flag = "  <-- NOT ALL 2xx" if row.non_2xx or row.socket_errors or row.timeouts else ""
    serial = f"  (latency of {row.serial} requests one at a time)" if row.serial else ""
    print(
        f"  {scenario.name:<22} {row.rps:8.1f} req/s  p50 {row.p50_ms:8.1f} ms  "
        f"p99 {row.p99_ms:8.1f} ms  rss {row.rss_peak_mb:6.1f} MB{flag}{serial}"
    )
    return row


def _timed(server: Server, line: str, token: str | None) -> tuple[float, int, object]:
    method, path, *body = line.split("\t")
    started = time.perf_counter()
    status, answer = server.request(
        method, path, token=token, body=json.loads(body[0]) if body else None
    )
    return (time.perf_counter() - started) * 1000, status, answer


def _drain(database: str, timeout: float = 600) -> None:
    """Wait until no query of the app runs in the database: a request still running
    when wrk stops (a long report) would otherwise weigh on the next scenario."""
    deadline = time.monotonic() + timeout
    with build_db.connect(database, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND state = 'active' "
                "AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            if not busy:
                return
            time.sleep(0.5)


def _growth(runs: list[dict]) -> None:
    """p50 at the main size over p50 at the compared one, scenario by scenario."""
    if len(runs) < 2:
        return
    small = {row["scenario"]: row for row in runs[1]["rows"]}
    for row in runs[0]["rows"]:
        base = small.get(row["scenario"])
        if base and base["p50_ms"] and row["p50_ms"] and not base["error"] and not row["error"]:
            row["growth"] = round(row["p50_ms"] / base["p50_ms"], 2)


def _report(args, settings, load, warmup, started, busy, runs, wrk, code) -> dict:
    _growth(runs)
    report = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": code,
        "machine": {
            "cpus": cpu_count(),
            "load_average_before": busy,
            "load_average_after": loadavg(),
            "python": platform.python_version(),
            "wrk": _wrk_version(wrk),
        },
        "settings": {
            "server": settings.label,
            "workers": settings.workers,
            "threads": settings.threads,
            "connections": load.connections,
            "seconds": load.seconds,
            "warmup_seconds": warmup.seconds,
            "timezone": shapes.TIMEZONE,
        },
        "sizes": runs,
    }
    report["targets"] = evaluate(report)
    return report


def render(report: dict) -> str:
    """The table: one line per scenario and size, then the targets."""
    runs = report["sizes"]
    settings = report["settings"]
    machine = report["machine"]
    header = (
        f"MediTrack benchmarks, {settings['server']}, {settings['connections']} connections, "
        f"{settings['seconds']:g} s per scenario; load average "
        f"{machine['load_average_before']:.1f} before, {machine['load_average_after']:.1f} "
        f"after, on {machine['cpus']} cores"
    )
    compare = len(runs) > 1
    columns = ["scenario", "patients", "rows", "req/s", "p50 ms", "p99 ms", "x floor",
               "RSS MB", "non-2xx", "KB/resp"]  # fmt: skip
    if compare:
        columns.append(f"p50 vs {runs[1]['patients']:,}")
    lines = [header, ""]
    table = []
    for run in runs:
        for row in run["rows"]:
            cells = [
                row["scenario"],
                f"{row['patients']:,}",
                f"{_short(row['rows'])} {row['rows_table'].split('_')[0]}",
                "-" if row["error"] else f"{row['rps']:,.0f}",
                "-" if row["error"] else f"{row['p50_ms']:.1f}" + ("*" if row["serial"] else ""),
                "-" if row["error"] else f"{row['p99_ms']:.1f}" + ("*" if row["serial"] else ""),
                _ratio(row["floor_ratio"]),
                f"{row['rss_peak_mb']:.0f}",
                _errors(row),
                f"{row['kb_per_response']:.1f}",
            ]
            if compare:
                mixed = row["growth"] is not None and row["serial"] != _serial_at(runs[1], row)
                growth = "" if row["growth"] is None else f"{row['growth']:.2f}"
                cells.append(growth + ("*" if mixed else ""))
            table.append(cells)
    widths = [max(len(columns[i]), *(len(r[i]) for r in table)) for i in range(len(columns))]
    lines.append(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(columns, widths, strict=True))
        )
    )
    lines.append("  ".join("-" * w for w in widths))
    for cells in table:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    for run in runs:
        lines.append(
            f"\n{run['patients']:,} patients: app worker peak RSS over the run "
            f"{run['app_worker_peak_rss_mb']:.0f} MB, "
            f"{run['app_worker_peak_rss_at_login_mb']:.0f} MB while signing in "
            f"({run['app_worker_processes_seen']} worker processes seen); "
            f"floor {run['floor_worker_peak_rss_mb']:.0f} MB"
        )
    if any(row["serial"] for run in runs for row in run["rows"]):
        lines.append(
            f"\n* too slow for {settings['seconds']:g} s of wrk: latency of {SERIAL} requests "
            "made one at a time (p99 is the slowest); in the last column, at one of the sizes"
        )
    errors = [
        f"  {row['scenario']}: {row['error']}"
        for run in runs
        for row in run["rows"]
        if row["error"]
    ]
    if errors:
        lines.append("\nScenarios that did not answer 2xx (not measured):")
        lines.extend(errors)
    lines.append("")
    lines.append(f"Targets (set for 1,000,000 patients; measured at {runs[0]['patients']:,}):")
    for target in report["targets"]:
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[target["met"]]
        lines.append(f"  {mark} {target['target']}: {target['measured']}")
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    """Two decimals; two significant digits below 0.1 (a chart is a few thousandths)."""
    if value is None:
        return ""
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def _serial_at(run: dict, row: dict) -> int:
    return next((r["serial"] for r in run["rows"] if r["scenario"] == row["scenario"]), 0)


def show(path: Path) -> None:
    """Print a saved run again (growth and targets worked out anew)."""
    report = json.loads(path.read_text())
    _growth(report["sizes"])
    report["targets"] = evaluate(report)
    print(render(report))


def _errors(row: dict) -> str:
    if row["error"]:
        return "FAILED"
    bad = row["non_2xx"] + row["socket_errors"] + row["timeouts"]
    note = f"{bad} !" if bad else "0"
    if row["repeated"]:
        note += f" ({row['repeated']} repeated)"
    return note


def _short(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1_000:
        return f"{count / 1_000:.0f}k"
    return str(count)


def _git() -> dict:
    def git(*command: str) -> str:
        result = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip()

    changed = git(
        "status", "--porcelain", "--untracked-files=no", "--", "meditrack", "migrations", "wsgi.py"
    )
    return {"commit": git("rev-parse", "HEAD"), "app_changed_since_commit": bool(changed)}


def _wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return (
        (result.stdout or result.stderr).splitlines()[0] if (result.stdout or result.stderr) else ""
    )


def _write(report: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = RESULTS / f"{stamp}-{report['sizes'][0]['patients']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()
