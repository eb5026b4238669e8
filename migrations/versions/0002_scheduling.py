"""Scheduling: appointment history, time off, idempotency keys, and no overlaps.

A doctor or a patient is never in two active (scheduled or checked-in, not archived)
appointments at once. PostgreSQL enforces it with two exclusion constraints over a time
range (btree_gist); SQLite with triggers that refuse an overlapping insert or update.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 03:57:01.684596

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('scheduled', 'checked_in') AND archived_at IS NULL"


def _postgres_no_overlap():
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for column in ("doctor_id", "patient_id"):
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{column}_overlap "
            f"EXCLUDE USING gist ({column} WITH =, "
            f"tstzrange(start_time, end_time, '[)') WITH &&) WHERE ({ACTIVE})"
        )


def _sqlite_no_overlap():
    # One EXISTS per column so that each can use its (column, start_time) index; an
    # appointment lasts at most 8 hours, which bounds the range of starts to look at.
    def busy(column):
        return (
            f"EXISTS (SELECT 1 FROM appointments a WHERE a.{column} = NEW.{column} "
            "AND a.start_time < NEW.end_time "
            "AND a.start_time > datetime(NEW.start_time, '-480 minutes') "
            "AND a.end_time > NEW.start_time "
            "AND a.status IN ('scheduled', 'checked_in') AND a.archived_at IS NULL "
            "AND a.id IS NOT NEW.id)"
        )

    clash = (
        "SELECT RAISE(ABORT, 'appointment_conflict') "
        f"WHERE {busy('doctor_id')} OR {busy('patient_id')};"
    )
    when = "WHEN NEW.status IN ('scheduled', 'checked_in') AND NEW.archived_at IS NULL"
    op.execute(f"CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments "
               f"{when} BEGIN {clash} END")
    op.execute(f"CREATE TRIGGER appointments_no_overlap_update BEFORE UPDATE OF "
               f"start_time, end_time, status, archived_at, doctor_id, patient_id "
               f"ON appointments {when} BEGIN {clash} END")


def upgrade():
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotency_records_user_id_key'))
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_created_at'), ['created_at'], unique=False)

    op.create_table('doctor_time_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('end_time > start_time', name=op.f('ck_doctor_time_off_time_order')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_doctor_time_off_created_by_users')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], name=op.f('fk_doctor_time_off_doctor_id_doctors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_doctor_time_off'))
    )
    with op.batch_alter_table('doctor_time_off', schema=None) as batch_op:
        batch_op.create_index('ix_doctor_time_off_doctor_id_start_time', ['doctor_id', 'start_time'], unique=False)

    op.create_table('appointment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_appointment_events_appointment_id_appointments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['changed_by'], ['users.id'], name=op.f('fk_appointment_events_changed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_events'))
    )
    with op.batch_alter_table('appointment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_events_appointment_id'), ['appointment_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _postgres_no_overlap()
    else:
        _sqlite_no_overlap()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in ("doctor_id", "patient_id"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{column}_overlap")
    else:
        op.execute("DROP TRIGGER appointments_no_overlap_insert")
        op.execute("DROP TRIGGER appointments_no_overlap_update")
    with op.batch_alter_table('appointment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_events_appointment_id'))

    op.drop_table('appointment_events')
    with op.batch_alter_table('doctor_time_off', schema=None) as batch_op:
        batch_op.drop_index('ix_doctor_time_off_doctor_id_start_time')

    op.drop_table('doctor_time_off')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_created_at'))

    op.drop_table('idempotency_records')
