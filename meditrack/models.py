"""Every model, imported in one place so that the mappers and migrations see them all."""

from meditrack.appointments.models import (
    Appointment,
    AppointmentEvent,
    IdempotencyRecord,
    TimeOff,
)
from meditrack.audit.models import AuditEvent
from meditrack.auth.models import AuthSession
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor, WorkingPeriod
from meditrack.emergency.models import EmergencyAccess
from meditrack.patients.models import Patient
from meditrack.records.models import MedicalRecord
from meditrack.reports.models import AppointmentTally
from meditrack.users.models import User

__all__ = [
    "Appointment",
    "AppointmentEvent",
    "AppointmentTally",
    "AuditEvent",
    "AuthSession",
    "Department",
    "Doctor",
    "EmergencyAccess",
    "IdempotencyRecord",
    "MedicalRecord",
    "Patient",
    "TimeOff",
    "User",
    "WorkingPeriod",
]

# Department counts are correlated subqueries, loaded only where a department is shown
# in full (undefer them in the query).
from sqlalchemy import func, select
from sqlalchemy.orm import column_property

Department.doctor_count = column_property(
    select(func.count(Doctor.id))
    .where(Doctor.department_id == Department.id, Doctor.archived_at.is_(None))
    .correlate_except(Doctor)
    .scalar_subquery(),
    deferred=True,
)
Department.patient_count = column_property(
    select(func.count(Patient.id))
    .where(Patient.department_id == Department.id, Patient.archived_at.is_(None))
    .correlate_except(Patient)
    .scalar_subquery(),
    deferred=True,
)
