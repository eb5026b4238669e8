"""Reports at scale: appointments tallied per UTC hour, department and status.

The hospital-wide reports sum `appointment_tallies` instead of reading millions of
appointments. Triggers on `appointments` keep it exact in the transaction of each change,
on PostgreSQL and on SQLite alike: an insert adds the row, a delete takes it out, an
update takes the old row out and adds the new one. Archived appointments count nowhere.
Durations are in microseconds, whole numbers, so that PostgreSQL's sums are exact.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: An update of any other column leaves the tallies as they are.
COUNTED = "start_time, end_time, status, archived_at, department_id, created_at"
KEY = "hour, department_id, status"
ADD = (
    "appointments = appointment_tallies.appointments + excluded.appointments, "
    "duration_us = appointment_tallies.duration_us + excluded.duration_us, "
    "lead_us = appointment_tallies.lead_us + excluded.lead_us"
)


def _micros_pg(start, end):
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) * 1000000 AS BIGINT)"


def _epoch_micros_sqlite(column):
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); the fraction may be shorter or
    # absent. The whole seconds are read without it: strftime('%s') would round it away.
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 "
        f"+ CAST(substr(substr({column}, 21) || '000000', 1, 6) AS INTEGER))"
    )


def _micros_sqlite(start, end):
    return f"({_epoch_micros_sqlite(end)} - {_epoch_micros_sqlite(start)})"


def _hour(column, dialect):
    """The UTC hour an instant falls in, as the column stores instants."""
    if dialect == "postgresql":
        return f"date_trunc('hour', {column}, 'UTC')"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def _tally_values(row, sign, dialect):
    """hour, department_id, status, appointments, duration_us, lead_us of one row."""
    micros = _micros_pg if dialect == "postgresql" else _micros_sqlite
    return (
        f"{_hour(f'{row}start_time', dialect)}, {row}department_id, {row}status, {sign}1, "
        f"{sign}{micros(f'{row}start_time', f'{row}end_time')}, "
        f"{sign}{micros(f'{row}created_at', f'{row}start_time')}"
    )


def _triggers_postgres():
    old, new = _tally_values("OLD.", "-", "postgresql"), _tally_values("NEW.", "+", "postgresql")
    take_old = f"INSERT INTO appointment_tallies VALUES ({old}) ON CONFLICT ({KEY}) DO UPDATE SET {ADD};"
    put_new = f"INSERT INTO appointment_tallies VALUES ({new}) ON CONFLICT ({KEY}) DO UPDATE SET {ADD};"
    old_key, new_key = (
        f"(date_trunc('hour', {row}.start_time, 'UTC'), {row}.department_id, {row}.status)"
        for row in ("OLD", "NEW")
    )
    # Rows of the tally are locked in the order of their keys, so that two moves in
    # opposite directions cannot deadlock.
    op.execute(f"""
        CREATE FUNCTION appointment_tallies_apply() RETURNS trigger AS $$
        DECLARE
            counted_old boolean := TG_OP <> 'INSERT' AND OLD.archived_at IS NULL;
            counted_new boolean := TG_OP <> 'DELETE' AND NEW.archived_at IS NULL;
        BEGIN
            IF counted_old AND counted_new AND {new_key} < {old_key} THEN
                {put_new}
                counted_new := false;
            END IF;
            IF counted_old THEN
                {take_old}
            END IF;
            IF counted_new THEN
                {put_new}
            END IF;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute(
        f"CREATE TRIGGER appointment_tallies_apply AFTER INSERT OR DELETE OR UPDATE OF {COUNTED} "
        "ON appointments FOR EACH ROW EXECUTE FUNCTION appointment_tallies_apply()"
    )
    # Row triggers do not see TRUNCATE (nor the TRUNCATE ... CASCADE of a patient table).
    op.execute("""
        CREATE FUNCTION appointment_tallies_truncate() RETURNS trigger AS $$
        BEGIN
            DELETE FROM appointment_tallies;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute(
        "CREATE TRIGGER appointment_tallies_truncate AFTER TRUNCATE ON appointments "
        "FOR EACH STATEMENT EXECUTE FUNCTION appointment_tallies_truncate()"
    )


def _triggers_sqlite():
    # The WHERE of each SELECT is also what lets SQLite parse the upsert after it.
    add = (
        "INSERT INTO appointment_tallies SELECT {values} WHERE {row}archived_at IS NULL "
        f"ON CONFLICT ({KEY}) DO UPDATE SET {ADD};"
    )
    take_old = add.format(values=_tally_values("OLD.", "-", "sqlite"), row="OLD.")
    put_new = add.format(values=_tally_values("NEW.", "+", "sqlite"), row="NEW.")
    op.execute(
        "CREATE TRIGGER appointment_tallies_insert AFTER INSERT ON appointments "
        f"BEGIN {put_new} END"
    )
    op.execute(
        f"CREATE TRIGGER appointment_tallies_update AFTER UPDATE OF {COUNTED} ON appointments "
        f"BEGIN {take_old} {put_new} END"
    )
    # BEFORE: the row is still there; the statement's failure undoes this too.
    op.execute(
        "CREATE TRIGGER appointment_tallies_delete BEFORE DELETE ON appointments "
        f"BEGIN {take_old} END"
    )


def _backfill(dialect):
    """The appointments already there, summed as the triggers would have."""
    micros = _micros_pg if dialect == "postgresql" else _micros_sqlite
    op.execute(
        f"INSERT INTO appointment_tallies SELECT {_hour('start_time', dialect)}, department_id, status, count(*), "
        f"sum({micros('start_time', 'end_time')}), sum({micros('created_at', 'start_time')}) "
        "FROM appointments WHERE archived_at IS NULL GROUP BY 1, 2, 3"
    )


def upgrade():
    op.create_table('appointment_tallies',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('appointments', sa.Integer(), nullable=False),
    sa.Column('duration_us', sa.BigInteger(), nullable=False),
    sa.Column('lead_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('hour', 'department_id', 'status', name=op.f('pk_appointment_tallies'))
    )
    dialect = op.get_bind().dialect.name
    _backfill(dialect)
    if dialect == "postgresql":
        _triggers_postgres()
    else:
        _triggers_sqlite()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER appointment_tallies_truncate ON appointments")
        op.execute("DROP FUNCTION appointment_tallies_truncate()")
        op.execute("DROP TRIGGER appointment_tallies_apply ON appointments")
        op.execute("DROP FUNCTION appointment_tallies_apply()")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER appointment_tallies_{verb}")
    op.drop_table('appointment_tallies')
