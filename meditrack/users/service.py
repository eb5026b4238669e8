"""Accounts as admins manage them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from meditrack.auth import tokens
from meditrack.core.errors import Conflict, NotFound
from meditrack.core.pagination import Page, order_by, paginate, search
from meditrack.extensions import db
from meditrack.permissions import Actor, require_role
from meditrack.users.emails import canonical_email
from meditrack.users.models import Role, User
from meditrack.users.schemas import UserQuery


def list_users(*, actor: Actor, args: Mapping) -> Page:
    require_role(actor, Role.ADMIN)
    stmt = select(User).options(selectinload(User.doctor), selectinload(User.patient))
    if args.get("role"):
        stmt = stmt.where(User.role == args["role"])
    stmt = stmt.where(*search(args.get("q"), (User.name, User.email)))
    return paginate(order_by(stmt, args.get("sort"), UserQuery.SORTS, "name", User.id), args)


def get_user(*, actor: Actor, user_id: int) -> User:
    require_role(actor, Role.ADMIN)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def find_by_email(email: str) -> User | None:
    """The account this address reaches: compared in canonical form, in Python on both
    sides (the stored key was made by the same function), never by the database's lower(),
    which folds other letters than the throttle does."""
    return db.session.scalar(select(User).where(User.email_key == canonical_email(email)))


def update_user(*, actor: Actor, user: User, changes: Mapping) -> User:
    """Change name, role or activity; the change applies to the user's next request."""
    require_role(actor, Role.ADMIN)
    loses_admin = (
        user.role == Role.ADMIN
        and user.is_active
        and (changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("is_active") is False)
    )
    if loses_admin and _active_admins() <= 1:
        raise Conflict("The last active admin cannot be demoted or deactivated.")
    for name, value in changes.items():
        setattr(user, name, value)
    if changes.get("is_active") is False:
        # Reactivating an account later must not bring its old tokens back.
        tokens.revoke_logins(user.id)
    db.session.flush()
    return user


def _active_admins() -> int:
    """How many active admins there are, with their rows locked until the request ends: two
    admins demoting each other at the same moment are then counted one after the other
    (the second waits, and then finds one admin left). SQLite's write requests hold the
    database's write lock from their first statement, which orders them the same way."""
    locked = (
        select(User.id)
        .where(User.role == Role.ADMIN, User.is_active)
        .order_by(User.id)
        .with_for_update()
    )
    return len(db.session.scalars(locked).all())
