from __future__ import annotations

from sqlalchemy import Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from meditrack.core.db import TimestampMixin
from meditrack.extensions import db


class Department(TimestampMixin, db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("uq_departments_name_lower", func.lower(name), unique=True),)
