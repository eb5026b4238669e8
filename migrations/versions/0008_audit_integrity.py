"""Integrity of the audit trail.

- PostgreSQL refuses `TRUNCATE audit_events` (a statement-level trigger with the same
  refusal as UPDATE and DELETE). SQLite has no TRUNCATE; its DELETE is refused already.
- `idempotency_records.accesses`: the audit events of a stored answer, which a replay of
  that answer records again.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07 18:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("idempotency_records", sa.Column("accesses", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # audit_events_append_only() raises for any event it is called on.
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    # Both databases drop a plain column in place (SQLite since 3.35): no table rebuild.
    op.execute("ALTER TABLE idempotency_records DROP COLUMN accesses")
