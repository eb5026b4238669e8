from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from meditrack.core.db import ArchiveMixin, TimestampMixin
from meditrack.extensions import db


class MedicalRecord(TimestampMixin, ArchiveMixin, db.Model):
    """A clinical note about a patient, written by a doctor."""

    __tablename__ = "medical_records"
    __label__ = "Record"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    record_date: Mapped[date]
    diagnosis: Mapped[str] = mapped_column(Text)
    treatment: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_medical_records_patient_id_record_date", "patient_id", "record_date"),
    )
