from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from meditrack.core.db import TimestampMixin
from meditrack.extensions import db
from meditrack.users.emails import canonical_email


class Role(StrEnum):
    ADMIN = "admin"
    RECEPTIONIST = "receptionist"
    DOCTOR = "doctor"
    PATIENT = "patient"


ROLE_VALUES = tuple(role.value for role in Role)


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: As the user typed it, for display.
    email: Mapped[str] = mapped_column(String(254))
    #: canonical_email(email): what sign-in, lookup and uniqueness compare (users/emails.py).
    email_key: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role"),
        Index("uq_users_email_key", email_key, unique=True),
    )

    @validates("email")
    def _keyed(self, _name: str, value: str) -> str:
        # Set with the address, wherever an account is made or changed, so that no path
        # can store an email without its key.
        self.email_key = canonical_email(value)
        return value

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


# Linked records live on the doctor's and the patient's side (doctors.user_id,
# patients.user_id); these read-only relationships expose them on the user, while
# they are not archived. Loaded only when asked for: every request loads its user, and
# only the account endpoints show these (lists load them in one query each).
User.doctor = db.relationship(
    "Doctor",
    primaryjoin="and_(User.id == foreign(Doctor.user_id), Doctor.archived_at.is_(None))",
    uselist=False,
    viewonly=True,
)
User.patient = db.relationship(
    "Patient",
    primaryjoin="and_(User.id == foreign(Patient.user_id), Patient.archived_at.is_(None))",
    uselist=False,
    viewonly=True,
)
