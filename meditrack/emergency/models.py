from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from meditrack.core.db import utcnow
from meditrack.extensions import db


class EmergencyAccess(db.Model):
    """A doctor's "break the glass" access to one patient for a fixed window.

    A grant is never edited or removed: the database refuses DELETE, and any UPDATE but
    the one that ends it early (ended_at and ended_by, once), on PostgreSQL and on SQLite
    alike (triggers, migration 0006)."""

    __tablename__ = "emergency_access"
    __label__ = "Emergency access"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_emergency_access_doctor_id_expires_at", "doctor_id", "expires_at"),
        Index("ix_emergency_access_starts_at", "starts_at"),
    )
