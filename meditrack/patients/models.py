from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meditrack.core.db import ArchiveMixin, TimestampMixin
from meditrack.departments.models import Department
from meditrack.extensions import db

GENDERS = ("female", "male", "other", "unknown")
BLOOD_TYPES = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")


class Patient(TimestampMixin, ArchiveMixin, db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(16), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    date_of_birth: Mapped[date] = mapped_column(index=True)
    gender: Mapped[str] = mapped_column(String(10), default="unknown", index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    blood_type: Mapped[str | None] = mapped_column(String(3))
    allergies: Mapped[str | None] = mapped_column(Text)
    emergency_contact_name: Mapped[str | None] = mapped_column(String(100))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)

    department: Mapped[Department | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(f"gender IN {GENDERS!r}", name="gender"),
        CheckConstraint(f"blood_type IN {BLOOD_TYPES!r}", name="blood_type"),
    )
