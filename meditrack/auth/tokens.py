"""Tokens name a login (AuthSession); each request re-reads that login and its user."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Flask, current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete, select, update

from meditrack.auth.models import AuthSession
from meditrack.core.db import utcnow
from meditrack.core.errors import problem
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


def prune_expired_logins(user_id: int) -> None:
    """Logins whose refresh token has expired are of no further use."""
    db.session.execute(
        delete(AuthSession).where(AuthSession.user_id == user_id, AuthSession.expires_at < utcnow())
    )


def _load_login(claims: dict):
    """The login, its user and their linked records, in one query, once per request."""
    if "login" not in g:
        row = db.session.execute(
            select(AuthSession, User, Doctor.id, Patient.id)
            .join(User, User.id == AuthSession.user_id)
            .outerjoin(Doctor, (Doctor.user_id == User.id) & Doctor.archived_at.is_(None))
            .outerjoin(Patient, (Patient.user_id == User.id) & Patient.archived_at.is_(None))
            .where(AuthSession.id == claims.get("sid"))
        ).first()
        g.login = row
    return g.login


def register(app: Flask) -> None:
    @jwt.token_in_blocklist_loader
    def _revoked(_header, claims) -> bool:
        row = _load_login(claims)
        if row is None or str(row.User.id) != claims.get("sub"):
            return True
        session: AuthSession = row.AuthSession
        if session.revoked_at is not None:
            return True
        return claims.get("type") == "refresh" and claims.get("jti") != session.refresh_jti

    @jwt.user_lookup_loader
    def _lookup(_header, claims):
        row = _load_login(claims)
        if row is None or not row.User.is_active:
            return None
        user: User = row.User
        g.actor = Actor(
            user_id=user.id,
            role=Role(user.role),
            session_id=row.AuthSession.id,
            doctor_id=row[2],
            patient_id=row[3],
        )
        return user

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
