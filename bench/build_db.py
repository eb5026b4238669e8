"""Build, or reuse, the PostgreSQL database the benchmarks run against.

    python -m bench.build_db --patients 100000          # build once, then reuse
    python -m bench.build_db --patients 10000 --rebuild # start again

The database is `meditrack_bench_<patients>` on the server named by BENCH_DATABASE_URL
(default: the local server, postgresql://postgres@127.0.0.1:5432/postgres). Its schema
comes from the migrations (`flask db upgrade`); its rows from bulk SQL (bench/fill.py).
A finished build records its size, schema revision and generator version in the
database's comment: a later run with the same size reuses it, upgrades it in place when
only the migrations moved on, and builds it again when the generator changed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

if __package__ in (None, ""):  # run as a file: bench/build_db.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fill, shapes

#: Bump when the generated data changes shape: older builds are then rebuilt.
BUILD_VERSION = 2
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Tables filled in bulk: their secondary indexes and constraints (but the primary key)
#: are dropped during the load and made again after it, as the migrations made them.
BULK_TABLES = ("patients", "appointments", "appointment_events", "medical_records", "audit_events")
#: Keeps appointment_tallies (migration 0005); off during the load, which sums them once.
TALLY_TRIGGER = "appointment_tallies_apply"

Echo = Callable[[str], object]


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_SERVER


def database_name(patients: int) -> str:
    return f"meditrack_bench_{patients}"


def database_url(name: str) -> str:
    """The server URL pointed at one database (its query, e.g. ?host=/socket, kept)."""
    return urlunsplit(urlsplit(server_url())._replace(path=f"/{name}"))


def connect(name: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(database_url(name), **kwargs)


def migrations_head() -> tuple[str, set[str]]:
    """The head revision of migrations/ and every revision in its history."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    script = ScriptDirectory.from_config(config)
    return script.get_current_head(), {rev.revision for rev in script.walk_revisions()}


def app_environment(url: str) -> dict[str, str]:
    """Environment for the app (migrations, gunicorn) on a benchmark database."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "wsgi:app",
        "MEDITRACK_TIMEZONE": shapes.TIMEZONE,
        "JWT_SECRET_KEY": os.environ.get("BENCH_JWT_SECRET") or secrets.token_urlsafe(48),
        "LOG_LEVEL": "WARNING",
    }


def read_meta(name: str) -> dict | None:
    """The build record of a database: None when it does not exist or never finished."""
    with connect("postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if row is None:
        return None
    try:
        meta = json.loads(row[0] or "{}")
    except json.JSONDecodeError:
        meta = {}
    meta["exists"] = True
    return meta


def _write_meta(name: str, meta: dict) -> None:
    with connect("postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(json.dumps(meta, sort_keys=True))
            )
        )


def _revision(name: str) -> str | None:
    with connect(name) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def ensure(patients: int, *, rebuild: bool = False, echo: Echo = print) -> dict:
    """The build record of a ready database of that size, building it if need be."""
    name = database_name(patients)
    head, history = migrations_head()
    meta = read_meta(name)
    usable = (
        meta is not None
        and meta.get("complete")
        and meta.get("patients") == patients
        and meta.get("build_version") == BUILD_VERSION
        and meta.get("timezone") == shapes.TIMEZONE
        and meta.get("revision") in history
    )
    if usable and not rebuild:
        if meta["revision"] != head:
            echo(f"{name}: schema {meta['revision']} -> {head}: upgrading in place")
            started = time.perf_counter()
            _migrate(name)
            with connect(name, autocommit=True) as conn:
                conn.execute("ANALYZE")
            meta = {**meta, "revision": _revision(name), "upgraded_at": _now()}
            meta["upgrade_seconds"] = round(time.perf_counter() - started, 1)
            _write_meta(name, {k: v for k, v in meta.items() if k != "exists"})
        else:
            echo(f"{name}: reusing the build of {meta['built_at']} (schema {head})")
        return meta
    return build(patients, echo=echo)


def build(patients: int, *, echo: Echo = print) -> dict:
    name = database_name(patients)
    timer = Timer(echo)
    echo(f"{name}: building {patients:,} patients on {urlsplit(server_url()).netloc}")
    with timer("create database and migrate"):
        with connect("postgres", autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        _migrate(name)
    clock = fill.Clock.start(shapes.TIMEZONE)
    with timer("hash the shared password (argon2, the app's hasher)"):
        password_hash = _password_hash(name)
    with connect(name) as conn:
        _tune(conn)
        before = schema_snapshot(conn)
        with timer("drop secondary indexes and constraints of the bulk tables", conn):
            restore = _strip(conn)
            # Summed once after the load rather than row by row during it.
            conn.execute(f"ALTER TABLE appointments DISABLE TRIGGER {TALLY_TRIGGER}")
        with timer("departments, logins, doctors, working hours, time off (COPY)", conn):
            doctors = fill.reference(conn, clock, password_hash)
        with timer(f"{patients:,} patients (generate_series)", conn):
            fill.patients(conn, clock, patients)
        with timer("appointments ahead (Python, no overlaps)", conn):
            ahead = fill.future(conn, clock, doctors, patients)
        mean = max(shapes.APPOINTMENTS_PER_PATIENT - len(ahead) / patients, 1.0)
        with timer(f"past appointments, about {mean:.2f} per patient (generate_series)", conn):
            fill.past(conn, clock, mean)
        with timer(f"{len(ahead):,} appointments ahead (COPY)", conn):
            fill.insert_future(conn, ahead)
        with timer("archive dates after the last visits", conn):
            fill.archives(conn, clock)
        with timer("appointment tallies (what the triggers would have written)", conn):
            _tally(conn)
        conn.commit()
    # Two connections from here on: the phases below do not depend on each other.
    _parallel(
        name,
        timer,
        {
            "appointment history": fill.history,
            "medical records, then audit events": lambda c: (
                fill.records(c, clock),
                fill.audit(c, clock),
            ),
        },
    )
    first = {"appointments", "patients", "medical_records"}
    _parallel(
        name,
        timer,
        {
            f"indexes and constraints again: {', '.join(sorted(group))}": _run_all(
                [statement for table, statement in restore if (table in first) == (group == first)]
            )
            for group in (first, set(BULK_TABLES) - first)
        },
    )
    with connect(name) as conn:
        if schema_snapshot(conn) != before:
            raise SystemExit(f"{name}: the schema after the load differs from the migrations'")
        with timer("sequences moved past the loaded ids", conn):
            _reset_sequences(conn)
            conn.commit()
        counts = table_counts(conn)
    with connect(name, autocommit=True) as conn, timer("VACUUM (ANALYZE)", conn):
        conn.execute("VACUUM (ANALYZE)")
    _checkpoint(name, timer, echo)
    meta = {
        "complete": True,
        "patients": patients,
        "build_version": BUILD_VERSION,
        "revision": _revision(name),
        "timezone": shapes.TIMEZONE,
        "built_at": _now(),
        "today": clock.today.isoformat(),
        "build_seconds": round(timer.elapsed, 1),
        "phases": timer.phases,
        "counts": counts,
    }
    _write_meta(name, meta)
    figures = ", ".join(f"{value:,} {table}" for table, value in counts.items())
    echo(f"{name}: built in {timer.elapsed:.0f} s: {figures}")
    return {**meta, "exists": True}


def _checkpoint(name: str, timer: Timer, echo: Echo) -> None:
    """Write the build out now: otherwise the checkpoints its gigabytes of WAL set off go
    on for minutes into the first scenarios of a run (a p99 of 117 ms for a page of
    patients that takes 16 ms once they are over). Needs superuser or pg_checkpoint."""
    with connect(name, autocommit=True) as conn:
        try:
            with timer("CHECKPOINT", conn):
                conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            echo(f"{name}: no right to CHECKPOINT; the first scenarios may meet one")


def _parallel(name: str, timer: Timer, jobs: dict[str, Callable[[psycopg.Connection], object]]):
    """Run each job on a connection of its own, at the same time; each is timed."""

    def run(phase: str, job) -> None:
        with connect(name) as conn:
            _tune(conn)
            with timer(phase, conn):
                job(conn)
                conn.commit()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(run, phase, job) for phase, job in jobs.items()]:
            future.result()


def _run_all(statements: list[str]) -> Callable[[psycopg.Connection], None]:
    def run(conn: psycopg.Connection) -> None:
        for statement in statements:
            conn.execute(statement)
            conn.commit()  # locks held no longer than each statement

    return run


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _migrate(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=app_environment(database_url(name)),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"flask db upgrade failed on {name}:\n{result.stderr[-3000:]}")


def _password_hash(name: str) -> str:
    """One argon2 hash of the shared password, made by the app's own hasher."""
    os.environ.update(
        {k: v for k, v in app_environment(database_url(name)).items() if k not in os.environ}
    )
    from meditrack import create_app
    from meditrack.auth.passwords import hash_password

    with create_app().app_context():
        return hash_password(shapes.PASSWORD)


def _tune(conn: psycopg.Connection) -> None:
    """Settings for a bulk load on this connection only (the server's stay as they are)."""
    for setting in (
        "SET synchronous_commit = off",
        "SET work_mem = '256MB'",
        "SET maintenance_work_mem = '1GB'",
        "SET temp_buffers = '1GB'",
        "SET max_parallel_maintenance_workers = 2",
        "SET TIME ZONE 'UTC'",
        "SET jit = off",
    ):
        conn.execute(setting)


def schema_snapshot(conn: psycopg.Connection) -> set[tuple[str, ...]]:
    """Every index and constraint of the public schema, as PostgreSQL spells it."""
    rows = conn.execute(
        """
        SELECT 'index', tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public'
        UNION ALL
        SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        """
    ).fetchall()
    return set(rows)


def _strip(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Drop what slows a bulk load (the secondary indexes, unique and foreign-key
    constraints of BULK_TABLES); (table, statement) that make them again, in order.
    The exclusion constraints stay: they index only active appointments, a few %."""
    tables = list(BULK_TABLES)
    constraints = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')
        ORDER BY contype = 'f' DESC, conname
        """,
        (tables,),
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text,
               pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        (tables,),
    ).fetchall()
    for table, constraint, _, _ in constraints:  # foreign keys first
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(constraint)
            )
        )
    for _, index, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))
    conn.commit()
    keys, foreign = [], []
    for table, name, kind, definition in constraints:
        statement = f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
        (foreign if kind == "f" else keys).append((table, statement))
    return [(table, definition) for table, _, definition in indexes] + keys + foreign


def _tally(conn: psycopg.Connection) -> None:
    """Fill appointment_tallies from the loaded appointments as migration 0005 does for
    an existing database, put its trigger back, and check the sums."""
    conn.execute(
        """
        INSERT INTO appointment_tallies
        SELECT date_trunc('hour', start_time, 'UTC'), department_id, status, count(*),
               sum(CAST(EXTRACT(EPOCH FROM (end_time - start_time)) * 1000000 AS BIGINT)),
               sum(CAST(EXTRACT(EPOCH FROM (start_time - created_at)) * 1000000 AS BIGINT))
        FROM appointments WHERE archived_at IS NULL GROUP BY 1, 2, 3
        """
    )
    conn.execute(f"ALTER TABLE appointments ENABLE TRIGGER {TALLY_TRIGGER}")
    tallied, counted = conn.execute(
        "SELECT (SELECT sum(appointments) FROM appointment_tallies), "
        "(SELECT count(*) FROM appointments WHERE archived_at IS NULL)"
    ).fetchone()
    if tallied != counted:
        raise SystemExit(f"appointment_tallies hold {tallied} appointments, not {counted}")


def _reset_sequences(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """
        SELECT c.table_name, pg_get_serial_sequence(c.table_name, c.column_name)
        FROM information_schema.columns c
        WHERE c.table_schema = 'public' AND c.column_name = 'id'
          AND pg_get_serial_sequence(c.table_name, c.column_name) IS NOT NULL
        """
    ).fetchall()
    for table, sequence in rows:
        conn.execute(
            sql.SQL("SELECT setval({}, COALESCE((SELECT max(id) FROM {}), 0) + 1, false)").format(
                sql.Literal(sequence), sql.Identifier(table)
            )
        )


def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = (
        "departments", "doctors", "users", "patients", "appointments", "appointment_events",
        "medical_records", "audit_events", "doctor_time_off",
    )  # fmt: skip
    counts = {
        table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables
    }
    counts["active_appointments"] = conn.execute(
        "SELECT count(*) FROM appointments WHERE status IN ('scheduled', 'checked_in') "
        "AND archived_at IS NULL"
    ).fetchone()[0]
    return counts


class Timer:
    """Times named phases (some at once, on two connections) and prints each as it ends,
    with the CPU time its PostgreSQL backend spent when the server runs on this machine:
    on a busy machine the wall time says more about the neighbours than about the load."""

    def __init__(self, echo: Echo):
        self.echo = echo
        self.phases: dict[str, dict[str, float | None]] = {}
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def __call__(self, phase: str, conn: psycopg.Connection | None = None) -> Iterator[None]:
        backend = _backend_pid(conn) if conn is not None else None
        cpu = _cpu_seconds(backend)
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        spent = _cpu_seconds(backend)
        used = None if cpu is None or spent is None else spent - cpu
        self.phases[phase] = {
            "seconds": round(elapsed, 1),
            "server_cpu_seconds": used and round(used, 1),
        }
        cpu_note = "" if used is None else f" (server CPU {used:6.1f} s)"
        self.echo(f"  {elapsed:7.1f} s{cpu_note}  {phase}")


def _backend_pid(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def _cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU seconds of a local process, or None (not local, not ours)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="build even if one is ready")
    args = parser.parse_args(argv)
    ensure(args.patients, rebuild=args.rebuild)


if __name__ == "__main__":
    main()
