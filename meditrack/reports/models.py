from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from meditrack.extensions import db


class AppointmentTally(db.Model):
    """Appointments summed per UTC hour of their start, department and status: what the
    hospital-wide reports read instead of millions of rows.

    Written only by triggers on `appointments` (migration 0005), in the transaction of
    the change, so it is always exact: every insert, update and delete of an appointment
    takes its old row out and puts its new one in. Archived appointments count nowhere.
    Durations are kept in microseconds, whole numbers, so that PostgreSQL's sums are exact."""

    __tablename__ = "appointment_tallies"

    hour: Mapped[datetime] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    appointments: Mapped[int]
    #: end_time - start_time, summed
    duration_us: Mapped[int] = mapped_column(BigInteger)
    #: start_time - created_at (booked ahead), summed
    lead_us: Mapped[int] = mapped_column(BigInteger)
