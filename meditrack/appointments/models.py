from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meditrack.core.db import ArchiveMixin, TimestampMixin, utcnow
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

    patient = relationship("Patient", viewonly=True)
    doctor = relationship("Doctor", viewonly=True)

    # Overlapping active appointments of one doctor or one patient are refused by the
    # database (migration 0002): exclusion constraints on PostgreSQL, triggers on SQLite,
    # where write requests also hold the write lock throughout (meditrack/core/sqlite.py).
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="time_order"),
        CheckConstraint(f"status IN {STATUS_VALUES!r}", name="status"),
        Index("ix_appointments_doctor_id_start_time", "doctor_id", "start_time"),
        Index("ix_appointments_patient_id_start_time", "patient_id", "start_time"),
        Index("ix_appointments_department_id_start_time", "department_id", "start_time"),
    )


class AppointmentEvent(db.Model):
    """The history of an appointment: its booking, then each status change or move,
    each holding the status and times just after that change."""

    __tablename__ = "appointment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimeOff(db.Model):
    """A doctor's absence: no appointment may be booked into it."""

    __tablename__ = "doctor_time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("end_time > start_time", name="time_order"),
        Index("ix_doctor_time_off_doctor_id_start_time", "doctor_id", "start_time"),
    )


class IdempotencyRecord(db.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(255))
    #: The audit events of the first answer (action, resource, patient, outcome), which a
    #: replay records again: a replayed booking shows the patient's name and MRN.
    accesses: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("user_id", "key"),)
