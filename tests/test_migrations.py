"""The migrations are the schema: they run both ways and match the models exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from meditrack import create_app
from meditrack.extensions import db


@pytest.fixture
def scratch_app(backend, database_url, tmp_path):
    """An app on an empty database of the same kind as the suite's, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        url = database_url + "_migrations"
        _recreate_postgres(url)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    yield app
    with app.app_context():
        db.engine.dispose()
    if backend == "postgresql":
        _recreate_postgres(url, create=False)


def _recreate_postgres(url: str, *, create: bool = True) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def test_upgrade_downgrade_upgrade_from_empty(scratch_app):
    with scratch_app.app_context():
        upgrade()
        assert {"users", "patients", "doctors", "appointments"} <= set(
            inspect(db.engine).get_table_names()
        )
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "patients" in inspect(db.engine).get_table_names()


# Alembic compares an expression index by its text, and PostgreSQL spells the search
# index's back with casts and parentheses; the index is checked by name below, and
# tests/test_patients.py proves that a search uses it.
RESPELLED_BY_POSTGRES = {"ix_patients_search"}


# SQLite cannot reflect expression indexes (lower(email)); PostgreSQL compares them too.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_match_the_migrations(scratch_app):
    with scratch_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            indexes = {index["name"] for index in inspect(conn).get_indexes("patients")}
            postgres = conn.dialect.name == "postgresql"
    if postgres:
        assert indexes >= RESPELLED_BY_POSTGRES
        differences = [d for d in differences if _index_name(d) not in RESPELLED_BY_POSTGRES]
    else:
        assert not RESPELLED_BY_POSTGRES & indexes  # trigram indexes are PostgreSQL's
    assert differences == []


def _index_name(difference) -> str | None:
    """The index a difference is about: ("add_index", Index) or [("modify_index", ...)]."""
    for item in difference if isinstance(difference, list) else [difference]:
        for part in item:
            if getattr(part, "name", None) is not None and hasattr(part, "expressions"):
                return part.name
    return None


# --- 0009: canonical emails -------------------------------------------------------------

USERS_BEFORE_0009 = text(
    "INSERT INTO users (name, email, password_hash, role, is_active, created_at, updated_at) "
    "VALUES (:name, :email, 'x', 'patient', true, :now, :now)"
)


def _users_at_0008(app, *emails: str) -> None:
    with app.app_context():
        upgrade(revision="0008")
        now = datetime.now(UTC).replace(tzinfo=None)
        with db.engine.begin() as conn:
            for n, email in enumerate(emails):
                conn.execute(USERS_BEFORE_0009, {"name": f"User {n}", "email": email, "now": now})


def test_0009_keys_existing_accounts_with_the_canonical_form(scratch_app):
    typed = [" \u0130lkay@Example.org", "STRA\u00dfE@example.org", "\uff21da@example.org"]
    _users_at_0008(scratch_app, *typed)
    with scratch_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT email, email_key FROM users ORDER BY id")).all()
            indexes = {index["name"] for index in inspect(conn).get_indexes("users")}
    assert [tuple(row) for row in rows] == [
        (" \u0130lkay@Example.org", "i\u0307lkay@example.org"),
        ("STRA\u00dfE@example.org", "strasse@example.org"),
        ("\uff21da@example.org", "ada@example.org"),
    ]
    assert "uq_users_email_lower" not in indexes


def test_0009_refuses_accounts_that_one_canonical_email_would_merge(scratch_app, capfd):
    # lower() told these apart; case folding and NFKC do not.
    _users_at_0008(scratch_app, "strasse@example.org", "ok@example.org", "STRA\u00dfE@example.org")
    with scratch_app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate's way of failing a command
            upgrade()
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            columns = {column["name"] for column in inspect(conn).get_columns("users")}
    assert (
        "the same email once case and Unicode forms are folded (user ids: 1, 3)"
        in capfd.readouterr().err
    )
    assert version == "0008"
    assert "email_key" not in columns
