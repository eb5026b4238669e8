"""Tokens name a login (AuthSession); each request re-reads that login and its user."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Flask, current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import Row, bindparam, delete, select, update

from meditrack.audit import service as audit
from meditrack.audit.models import Action
from meditrack.auth.models import AuthSession
from meditrack.core import transaction
from meditrack.core.db import utcnow
from meditrack.core.errors import Unauthorized, problem
from meditrack.doctors.models import Doctor
from meditrack.extensions import db, jwt
from meditrack.patients.models import Patient
from meditrack.permissions import Actor
from meditrack.users.models import Role, User


def issue(user: User, session: AuthSession | None = None) -> dict:
    """Access and refresh tokens for a login; a new login unless one is given."""
    refresh_jti = uuid.uuid4().hex
    expires_at: datetime = utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    if session is None:
        session = AuthSession(id=uuid.uuid4().hex, user_id=user.id)
        db.session.add(session)
    session.refresh_jti = refresh_jti
    session.expires_at = expires_at
    claims = {"sid": session.id}
    identity = str(user.id)
    access = create_access_token(identity=identity, additional_claims=claims)
    refresh = create_refresh_token(
        identity=identity, additional_claims={**claims, "jti": refresh_jti}
    )
    db.session.flush()
    return {"access_token": access, "refresh_token": refresh}


def revoke_logins(user_id: int, *, keep: str | None = None) -> None:
    """Revoke every login of a user (but `keep`), in every server process at once."""
    stmt = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    db.session.execute(stmt.values(revoked_at=utcnow()))


def revoke_reused_login(login: Row) -> None:
    """A refresh token that was already rotated is being used again: either its owner or a
    thief holds a copy, and there is no telling which (RFC 9700, 4.14.2). The whole login,
    every token of that sign-in, is revoked, and the reuse is an audit event; both are
    written after the refused request's rollback."""

    def revoke(_error: BaseException) -> None:
        db.session.execute(
            update(AuthSession)
            .where(AuthSession.id == login.session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    transaction.after_rollback(transaction.Step.REVOKE, revoke)
    audit.record_after_failure(
        Action.REVOKE,
        "user",
        resource_id=login.user_id,
        who=audit.Who(login.user_id, login.role),
    )


def prune_expired_logins(user_id: int) -> None:
    """Logins whose refresh token has expired are of no further use."""
    db.session.execute(
        delete(AuthSession).where(AuthSession.user_id == user_id, AuthSession.expires_at < utcnow())
    )


_sessions = AuthSession.__table__
_users = User.__table__
_doctors = Doctor.__table__
_patients = Patient.__table__

#: What the checks of every request need, as one plain row: no ORM entity is built for it.
LOGIN = (
    select(
        _sessions.c.id.label("session_id"),
        _sessions.c.revoked_at,
        _sessions.c.refresh_jti,
        _users.c.id.label("user_id"),
        _users.c.role,
        _users.c.is_active,
        _doctors.c.id.label("doctor_id"),
        _patients.c.id.label("patient_id"),
    )
    .join_from(_sessions, _users, _users.c.id == _sessions.c.user_id)
    .outerjoin(_doctors, (_doctors.c.user_id == _users.c.id) & _doctors.c.archived_at.is_(None))
    .outerjoin(_patients, (_patients.c.user_id == _users.c.id) & _patients.c.archived_at.is_(None))
    .where(_sessions.c.id == bindparam("sid"))
)


def _load_login(claims: dict) -> Row | None:
    """The login, its user and their linked records, in one query, once per request."""
    if "login" not in g:
        g.login = db.session.execute(LOGIN, {"sid": claims.get("sid")}).first()
    return g.login


def account_of(actor: Actor) -> User:
    """The caller's account as an entity, loaded only by the few views that show or change
    it: the check of every request reads just the columns it needs."""
    user = db.session.get(User, actor.user_id)
    if user is None:
        raise Unauthorized("The account is inactive or no longer exists.")
    return user


def register(app: Flask) -> None:
    @jwt.token_in_blocklist_loader
    def _revoked(_header, claims) -> bool:
        row = _load_login(claims)
        if row is None or str(row.user_id) != claims.get("sub"):
            return True
        if row.revoked_at is not None:
            return True
        if claims.get("type") == "refresh" and claims.get("jti") != row.refresh_jti:
            revoke_reused_login(row)
            return True
        return False

    @jwt.user_lookup_loader
    def _lookup(_header, claims) -> Actor | None:
        """The caller as an Actor (what `current_user` gives); None refuses an inactive one."""
        row = _load_login(claims)
        if row is None or not row.is_active:
            return None
        g.actor = Actor(
            user_id=row.user_id,
            role=Role(row.role),
            session_id=row.session_id,
            doctor_id=row.doctor_id,
            patient_id=row.patient_id,
        )
        return g.actor

    @jwt.expired_token_loader
    def _expired(_header, _claims):
        return problem(401, "token_expired", "The token has expired; refresh it or sign in.")

    @jwt.revoked_token_loader
    def _revoked_answer(_header, _claims):
        return problem(401, "token_revoked", "The token has been revoked; sign in again.")

    @jwt.invalid_token_loader
    def _invalid(reason: str):
        return problem(401, "unauthorized", "The token is not valid.")

    @jwt.unauthorized_loader
    def _missing(reason: str):
        return problem(401, "unauthorized", "Send an access token: Authorization: Bearer <token>.")

    @jwt.user_lookup_error_loader
    def _no_user(_header, _claims):
        return problem(401, "unauthorized", "The account is inactive or no longer exists.")
