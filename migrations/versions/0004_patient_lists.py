"""Fast patient lists at scale.

- A partial index per sort of the list (last name, date of birth, registration), over
  active patients only, each ending in the id that breaks ties.
- On PostgreSQL, a trigram index (pg_trgm) of the searched columns as one lowercased
  string, which serves `q`. SQLite searches without an index.
- `patient_totals`: one row with the number of patients and of active ones, kept exact by
  triggers on `patients`, for the unfiltered list's X-Total-Count. On PostgreSQL the
  triggers run once per statement over its changed rows (a bulk load updates the row
  once), and TRUNCATE resets it; on SQLite they run per row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ACTIVE = "archived_at IS NULL"
SORTS = ("last_name", "date_of_birth", "created_at")
SEARCH_TEXT = (
    "lower((((((((first_name || ' ') || last_name) || ' ') || mrn) || ' ') || "
    "coalesce(email, '')) || ' ') || coalesce(phone, ''))"
)


def _totals_postgres():
    op.execute("""
        CREATE FUNCTION patient_totals_change() RETURNS trigger AS $$
        DECLARE
            added bigint := 0;
            added_active bigint := 0;
        BEGIN
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                SELECT count(*), count(*) FILTER (WHERE archived_at IS NULL)
                  INTO added, added_active FROM new_rows;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                SELECT added - count(*), added_active - count(*) FILTER (WHERE archived_at IS NULL)
                  INTO added, added_active FROM old_rows;
            END IF;
            IF added <> 0 OR added_active <> 0 THEN
                UPDATE patient_totals
                   SET total = total + added, active = active + added_active
                 WHERE id = 1;
            END IF;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute(
        "CREATE TRIGGER patient_totals_insert AFTER INSERT ON patients "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION patient_totals_change()"
    )
    op.execute(
        "CREATE TRIGGER patient_totals_update AFTER UPDATE ON patients "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION patient_totals_change()"
    )
    op.execute(
        "CREATE TRIGGER patient_totals_delete AFTER DELETE ON patients "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION patient_totals_change()"
    )
    op.execute("""
        CREATE FUNCTION patient_totals_truncate() RETURNS trigger AS $$
        BEGIN
            UPDATE patient_totals SET total = 0, active = 0 WHERE id = 1;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute(
        "CREATE TRIGGER patient_totals_truncate AFTER TRUNCATE ON patients "
        "FOR EACH STATEMENT EXECUTE FUNCTION patient_totals_truncate()"
    )


def _totals_sqlite():
    active_new = "(NEW.archived_at IS NULL)"
    active_old = "(OLD.archived_at IS NULL)"
    op.execute(
        "CREATE TRIGGER patient_totals_insert AFTER INSERT ON patients BEGIN "
        f"UPDATE patient_totals SET total = total + 1, active = active + {active_new} "
        "WHERE id = 1; END"
    )
    op.execute(
        "CREATE TRIGGER patient_totals_update AFTER UPDATE OF archived_at ON patients "
        f"WHEN {active_new} <> {active_old} BEGIN "
        f"UPDATE patient_totals SET active = active + {active_new} - {active_old} "
        "WHERE id = 1; END"
    )
    op.execute(
        "CREATE TRIGGER patient_totals_delete AFTER DELETE ON patients BEGIN "
        f"UPDATE patient_totals SET total = total - 1, active = active - {active_old} "
        "WHERE id = 1; END"
    )


def upgrade():
    for column in SORTS:
        op.create_index(
            f"ix_patients_active_{column}_id",
            "patients",
            [column, "id"],
            unique=False,
            postgresql_where=sa.text(ACTIVE),
            sqlite_where=sa.text(ACTIVE),
        )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            f"CREATE INDEX ix_patients_search ON patients USING gin ({SEARCH_TEXT} gin_trgm_ops) "
            f"WHERE {ACTIVE}"
        )

    op.create_table('patient_totals',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_patient_totals_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_totals'))
    )
    op.execute(
        "INSERT INTO patient_totals (id, total, active) "
        f"SELECT 1, count(*), count(CASE WHEN {ACTIVE} THEN 1 END) FROM patients"
    )
    if postgres:
        _totals_postgres()
    else:
        _totals_sqlite()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for verb in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER patient_totals_{verb} ON patients")
        op.execute("DROP FUNCTION patient_totals_change()")
        op.execute("DROP FUNCTION patient_totals_truncate()")
        # pg_trgm stays: other objects of the database may use it.
        op.execute("DROP INDEX ix_patients_search")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER patient_totals_{verb}")
    op.drop_table('patient_totals')
    for column in SORTS:
        op.drop_index(f"ix_patients_active_{column}_id", table_name="patients")
