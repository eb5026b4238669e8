"""One canonical email per account.

`users.email_key` holds `canonical_email(email)` (meditrack/users/emails.py: trimmed,
NFKC, case folded) and is unique; it replaces the unique index on `lower(email)`, which
disagreed with the sign-in throttle about letters such as `İ`. `users.email` stays as the
user typed it, for display.

Existing rows are keyed with the application's own function, so that they compare
exactly as new ones do. Two existing accounts whose addresses have one canonical form
cannot both keep it: the upgrade then stops, naming their ids, and changes nothing.

The column is added in place (ALTER TABLE ADD COLUMN, with an empty default that
PostgreSQL drops again once every row is keyed; SQLite cannot drop a default in place),
so the users table, which other tables reference, is never rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14 10:00:00.000000

"""

from collections import defaultdict

from alembic import op
import sqlalchemy as sa

from meditrack.users.emails import canonical_email


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

users = sa.table("users", sa.column("id", sa.Integer), sa.column("email"), sa.column("email_key"))


class CanonicalEmailCollision(RuntimeError):
    """Existing accounts that one canonical email would merge."""


def upgrade():
    bind = op.get_bind()
    # Checked before anything changes: SQLite would keep a column added before the refusal.
    rows = bind.execute(sa.select(users.c.id, users.c.email))
    keys = {row.id: canonical_email(row.email) for row in rows}
    _refuse_collisions(keys)
    op.add_column(
        "users",
        sa.Column("email_key", sa.String(length=254), nullable=False, server_default=""),
    )
    if keys:
        bind.execute(
            users.update().where(users.c.id == sa.bindparam("user_id")),
            [{"user_id": user_id, "email_key": key} for user_id, key in keys.items()],
        )
    if bind.dialect.name == "postgresql":
        op.alter_column("users", "email_key", server_default=None)
    op.create_index("uq_users_email_key", "users", ["email_key"], unique=True)
    op.drop_index("uq_users_email_lower", table_name="users")


def _refuse_collisions(keys: dict[int, str]) -> None:
    accounts = defaultdict(list)
    for user_id, key in keys.items():
        accounts[key].append(user_id)
    clashes = sorted(sorted(ids) for ids in accounts.values() if len(ids) > 1)
    if clashes:
        listed = "; ".join(", ".join(map(str, ids)) for ids in clashes)
        raise CanonicalEmailCollision(
            "These users have the same email once case and Unicode forms are folded "
            f"(user ids: {listed}). Change the email of all but one of each group, "
            "then upgrade again."
        )


def downgrade():
    op.create_index("uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True)
    op.drop_index("uq_users_email_key", table_name="users")
    # Both databases drop a plain column in place (SQLite since 3.35): no table rebuild.
    op.execute("ALTER TABLE users DROP COLUMN email_key")
