from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from meditrack.core.db import utcnow
from meditrack.extensions import db


class Action(StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    ARCHIVE = "archive"
    RESTORE = "restore"
    LOGIN = "login"
    LOGOUT = "logout"
    EXPORT = "export"
    REVOKE = "revoke"
    EMERGENCY_ACCESS = "emergency_access"


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


class AuditEvent(db.Model):
    """One access to patient data, sign-in or export. Rows are only ever added: the
    database refuses UPDATE and DELETE on this table (triggers, migration 0003)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(16))
    resource_type: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[int | None] = mapped_column(BigInteger)
    patient_id: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(128))
    #: The emergency access the actor held over this event's patient (or the grant the
    #: event is about), so that the patient and the admins can tell.
    emergency_access_id: Mapped[int | None]
    #: What changed where the action alone does not say it: {"user_id": [old, new]} for
    #: a patient's account link. Ids only, never patient data.
    details: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        Index("ix_audit_events_patient_id_occurred_at", "patient_id", "occurred_at"),
        Index("ix_audit_events_actor_id_occurred_at", "actor_id", "occurred_at"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_emergency_access_id", "emergency_access_id"),
    )
