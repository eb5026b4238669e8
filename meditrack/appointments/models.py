from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from meditrack.core.db import ArchiveMixin, TimestampMixin
from meditrack.extensions import db


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


STATUS_VALUES = tuple(status.value for status in Status)
#: Appointments in these states hold their time; the others free it.
ACTIVE_STATUSES = (Status.SCHEDULED.value, Status.CHECKED_IN.value)


class Appointment(TimestampMixin, ArchiveMixin, db.Model):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    start_time: Mapped[datetime] = mapped_column(index=True)
    end_time: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=Status.SCHEDULED.value, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("end_time > start_time", name="time_order"),
        CheckConstraint(f"status IN {STATUS_VALUES!r}", name="status"),
        Index("ix_appointments_doctor_id_start_time", "doctor_id", "start_time"),
        Index("ix_appointments_patient_id_start_time", "patient_id", "start_time"),
        Index("ix_appointments_department_id_start_time", "department_id", "start_time"),
    )
