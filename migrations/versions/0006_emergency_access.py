"""Emergency access ("break the glass"), and audit events that can say more.

`emergency_access` holds each grant. The database refuses to delete one, and to change
one in any way but ending it early: ended_at and ended_by set once, from NULL, nothing
else touched. Triggers do it on PostgreSQL and on SQLite alike.

`audit_events` gains `emergency_access_id` (the grant an access was made under) and
`details` (ids only, e.g. {"user_id": [old, new]} when a patient's account link
changes). The columns are added in place (ALTER TABLE ADD COLUMN), so the append-only
triggers of migration 0003 stay as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

REFUSAL = "emergency access grants are never changed or removed, only ended"
#: Every column an UPDATE must leave as it was.
FIXED = ("id", "patient_id", "doctor_id", "reason", "starts_at", "expires_at",
         "created_by", "created_at")


def _guard_postgres():
    unchanged = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)
    op.execute(f"""
        CREATE FUNCTION emergency_access_only_ended() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL
               OR {unchanged} THEN
                RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute(
        "CREATE TRIGGER emergency_access_only_ended BEFORE UPDATE OR DELETE ON emergency_access "
        "FOR EACH ROW EXECUTE FUNCTION emergency_access_only_ended()"
    )


def _guard_sqlite():
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED)
    op.execute(
        "CREATE TRIGGER emergency_access_no_delete BEFORE DELETE ON emergency_access "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    )
    op.execute(
        "CREATE TRIGGER emergency_access_only_ended BEFORE UPDATE ON emergency_access "
        f"WHEN OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL OR {changed} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    )


def upgrade():
    op.create_table('emergency_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_emergency_access_created_by_users')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], name=op.f('fk_emergency_access_doctor_id_doctors')),
    sa.ForeignKeyConstraint(['ended_by'], ['users.id'], name=op.f('fk_emergency_access_ended_by_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_emergency_access_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_access'))
    )
    op.create_index('ix_emergency_access_doctor_id_expires_at', 'emergency_access', ['doctor_id', 'expires_at'], unique=False)
    op.create_index(op.f('ix_emergency_access_patient_id'), 'emergency_access', ['patient_id'], unique=False)
    op.create_index('ix_emergency_access_starts_at', 'emergency_access', ['starts_at'], unique=False)

    op.add_column('audit_events', sa.Column('emergency_access_id', sa.Integer(), nullable=True))
    op.add_column('audit_events', sa.Column('details', sa.JSON(), nullable=True))
    op.create_index('ix_audit_events_emergency_access_id', 'audit_events', ['emergency_access_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _guard_postgres()
    else:
        _guard_sqlite()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER emergency_access_only_ended ON emergency_access")
        op.execute("DROP FUNCTION emergency_access_only_ended()")
    else:
        op.execute("DROP TRIGGER emergency_access_no_delete")
        op.execute("DROP TRIGGER emergency_access_only_ended")
    op.drop_index('ix_audit_events_emergency_access_id', table_name='audit_events')
    # DROP COLUMN rewrites nothing on PostgreSQL; SQLite (3.35+) drops it in place too,
    # so audit_events keeps its append-only triggers.
    op.drop_column('audit_events', 'details')
    op.drop_column('audit_events', 'emergency_access_id')
    op.drop_index('ix_emergency_access_starts_at', table_name='emergency_access')
    op.drop_index(op.f('ix_emergency_access_patient_id'), table_name='emergency_access')
    op.drop_index('ix_emergency_access_doctor_id_expires_at', table_name='emergency_access')
    op.drop_table('emergency_access')
