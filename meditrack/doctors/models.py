from __future__ import annotations

from datetime import time

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meditrack.core.db import ArchiveMixin, TimestampMixin
from meditrack.departments.models import Department
from meditrack.extensions import db


class Doctor(TimestampMixin, ArchiveMixin, db.Model):
    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    specialization: Mapped[str] = mapped_column(String(100))
    license_number: Mapped[str | None] = mapped_column(String(100), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True, index=True)
    slot_minutes: Mapped[int] = mapped_column(SmallInteger, default=30)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)
    # Read only where used (doctors/service.py `working_hours`, or an explicit loader
    # option): most doctor loads never need them (the doctor named in an appointment), and
    # a lazy load in a loop over doctors would be one query per doctor, so it raises.
    working_hours: Mapped[list[WorkingPeriod]] = relationship(
        back_populates="doctor",
        cascade="all, delete-orphan",
        lazy="raise_on_sql",
        order_by="(WorkingPeriod.weekday, WorkingPeriod.starts_at)",
    )

    __table_args__ = (
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes"),
        Index("uq_doctors_email_lower", func.lower(email), unique=True),
        Index("ix_doctors_specialization_lower", func.lower(specialization)),
    )


class WorkingPeriod(db.Model):
    """A weekly period of work in hospital time: weekday 0 is Monday."""

    __tablename__ = "doctor_working_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time]
    ends_at: Mapped[time]

    doctor: Mapped[Doctor] = relationship(back_populates="working_hours")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("starts_at < ends_at", name="period_order"),
    )
