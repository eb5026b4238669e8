"""Registration, sign-in, token rotation, sign-out and password changes."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app
from sqlalchemy import update

from meditrack.audit import service as audit
from meditrack.audit.models import Action, Outcome
from meditrack.auth import throttle, tokens
from meditrack.auth.models import AuthSession
from meditrack.auth.passwords import hash_password, needs_rehash, verify_password
from meditrack.auth.schemas import password_problem
from meditrack.core.db import utcnow
from meditrack.core.errors import Duplicate, FieldError, Forbidden, Unauthorized
from meditrack.extensions import db
from meditrack.permissions import Actor
from meditrack.users import service as users_service
from meditrack.users.models import Role, User

WRONG_CREDENTIALS = "The email or password is wrong."


def create_user(*, name: str, email: str, password: str, role: Role) -> User:
    if users_service.find_by_email(email) is not None:
        raise Duplicate("An account with this email already exists.")
    user = User(name=name, email=email, role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def register(*, actor: Actor | None, data: Mapping, ip: str) -> tuple[User, dict]:
    """Anyone may register as a patient; every other role needs an admin. Registrations
    without an admin's token are throttled per client address."""
    if actor is None or actor.role != Role.ADMIN:
        throttle.check_registration(ip)
    role = Role(data["role"])
    if role != Role.PATIENT and (actor is None or actor.role != Role.ADMIN):
        raise Forbidden("Only an admin can create staff accounts.")
    user = create_user(name=data["name"], email=data["email"], password=data["password"], role=role)
    return user, tokens.issue(user)


def login(*, email: str, password: str, ip: str) -> tuple[User, dict]:
    user = users_service.find_by_email(email)
    account_id = user.id if user else None
    try:
        attempt = throttle.begin(email, ip)
    except throttle.Throttled as refusal:
        if refusal.first:
            audit.record_after_failure(
                Action.LOGIN,
                "user",
                resource_id=account_id,
                details={"throttled_by": refusal.by, "window_seconds": refusal.window_seconds},
            )
        raise
    if not verify_password(user.password_hash if user else None, password):
        attempt.keep()
        audit.record_after_failure(
            Action.LOGIN, "user", resource_id=account_id, outcome=Outcome.FAILED
        )
        raise Unauthorized(WRONG_CREDENTIALS)
    attempt.give_back()
    if not user.is_active:
        audit.record_after_failure(Action.LOGIN, "user", resource_id=account_id)
        raise Unauthorized(WRONG_CREDENTIALS)
    audit.record(Action.LOGIN, "user", resource_id=user.id, who=audit.Who(user.id, user.role))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    tokens.prune_expired_logins(user.id)
    return user, tokens.issue(user)


def access_token_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def refresh(*, actor: Actor) -> dict:
    """Rotate: the used refresh token stops working, a new pair is issued."""
    session = db.session.get(AuthSession, actor.session_id)
    return tokens.issue(tokens.account_of(actor), session)


def logout(*, actor: Actor) -> None:
    audit.record(Action.LOGOUT, "user", resource_id=actor.user_id)
    db.session.execute(
        update(AuthSession).where(AuthSession.id == actor.session_id).values(revoked_at=utcnow())
    )


def account(*, actor: Actor) -> User:
    """The signed-in account."""
    return tokens.account_of(actor)


def change_password(*, actor: Actor, current: str, new: str, ip: str) -> None:
    """A new password revokes every other login of the user. Wrong guesses of the
    current one count against the same limits as failed sign-ins."""
    user = tokens.account_of(actor)
    attempt = throttle.begin(user.email, ip)
    if not verify_password(user.password_hash, current):
        attempt.keep()
        raise FieldError("current_password", "The current password is wrong.")
    attempt.give_back()
    message = password_problem(new, email=user.email, name=user.name)
    if message:
        raise FieldError("new_password", message)
    user.password_hash = hash_password(new)
    tokens.revoke_logins(user.id, keep=actor.session_id)
