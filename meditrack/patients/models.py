from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meditrack.core.db import ArchiveMixin, TimestampMixin
from meditrack.departments.models import Department
from meditrack.extensions import db

GENDERS = ("female", "male", "other", "unknown")
BLOOD_TYPES = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
ACTIVE = text("archived_at IS NULL")


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
        # One per sort of the list, over active patients only: a page is read from the
        # index in order, and a deep page's offset is skipped without touching the table.
        *(
            Index(
                f"ix_patients_active_{column}_id",
                column,
                "id",
                postgresql_where=ACTIVE,
                sqlite_where=ACTIVE,
            )
            for column in ("last_name", "date_of_birth", "created_at")
        ),
    )


def search_text() -> ColumnElement[str]:
    """The searched columns as one lowercased string, words apart.

    A search word holds no whitespace, so it is found in this string exactly when it is
    found in one of the columns. PostgreSQL keeps a trigram index of it (`ix_patients_search`,
    made by migration 0004), which serves `LIKE '%word%'`."""
    space = literal_column("' '")
    return func.lower(
        Patient.first_name
        + space
        + Patient.last_name
        + space
        + Patient.mrn
        + space
        + func.coalesce(Patient.email, literal_column("''"))
        + space
        + func.coalesce(Patient.phone, literal_column("''"))
    )


Index(
    "ix_patients_search",
    search_text().label("search_text"),
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
    postgresql_where=ACTIVE,
).ddl_if(dialect="postgresql")


class PatientTotals(db.Model):
    """How many patients there are, and how many are active: one row, kept exact by
    triggers on `patients` (migration 0004), so an unfiltered list need not count a
    million rows for its X-Total-Count. When the row is missing, lists count instead."""

    __tablename__ = "patient_totals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    total: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
