"""The demo hospital loaded by `flask seed-demo`: departments, doctors, patients, logins,
about four months of appointments around today, and some time off.

Names come from Faker with a fixed seed, so every run builds the same hospital (MRNs are
random, as they are for every patient, and the appointments follow the day it runs). The
demo admin's email marks a seeded database.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import click
from faker import Faker
from sqlalchemy import func, select

from meditrack.appointments import rules
from meditrack.appointments.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    Status,
    TimeOff,
)
from meditrack.auth.passwords import hash_password
from meditrack.core import timeutil
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor, WorkingPeriod
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.patients.service import new_mrn
from meditrack.users import service as users_service
from meditrack.users.emails import canonical_email
from meditrack.users.models import Role, User

PASSWORD = "meditrack-demo-2026"
DOMAIN = "demo.meditrack.org"
ADMIN_EMAIL = f"admin@{DOMAIN}"
RECEPTION_EMAIL = f"reception@{DOMAIN}"
DOCTOR_EMAIL = f"doctor@{DOMAIN}"
PATIENT_EMAIL = f"patient@{DOMAIN}"
SEED = 2026
DOCTORS_PER_DEPARTMENT = 5
PATIENT_COUNT = 500


@dataclass(frozen=True)
class DepartmentPlan:
    name: str
    description: str
    location: str
    phone: str
    specializations: tuple[str, ...]
    slot_minutes: tuple[int, ...]


DEPARTMENTS = (
    DepartmentPlan(
        "Cardiology",
        "Diagnosis and treatment of heart and blood vessel disease: chest pain clinics, "
        "echocardiography, heart failure and rhythm disorders.",
        "Building A, 2nd floor",
        "+1-212-555-0110",
        ("Cardiology", "Interventional Cardiology", "Electrophysiology", "Heart Failure"),
        (20, 30),
    ),
    DepartmentPlan(
        "Neurology",
        "Care for disorders of the brain, spinal cord and nerves, including stroke "
        "follow-up, epilepsy, migraine and movement disorders.",
        "Building A, 3rd floor",
        "+1-212-555-0120",
        ("Neurology", "Stroke Medicine", "Epileptology", "Movement Disorders"),
        (30,),
    ),
    DepartmentPlan(
        "Pediatrics",
        "Medical care for infants, children and adolescents, from well-child visits to "
        "chronic conditions.",
        "Building B, ground floor",
        "+1-212-555-0130",
        ("General Pediatrics", "Neonatology", "Pediatric Cardiology", "Pediatric Neurology"),
        (15, 20),
    ),
    DepartmentPlan(
        "Orthopedics",
        "Bones, joints, ligaments and muscles: fractures, sports injuries, joint "
        "replacement and spine care.",
        "Building C, 1st floor",
        "+1-212-555-0140",
        ("Orthopedic Surgery", "Sports Medicine", "Spine Surgery", "Hand Surgery"),
        (15, 20, 30),
    ),
    DepartmentPlan(
        "Oncology",
        "Cancer diagnosis, chemotherapy, radiotherapy planning and survivorship clinics.",
        "Building D, 2nd floor",
        "+1-212-555-0150",
        ("Medical Oncology", "Radiation Oncology", "Hematology-Oncology", "Surgical Oncology"),
        (30,),
    ),
    DepartmentPlan(
        "Emergency Medicine",
        "Urgent and emergency care around the clock, with follow-up clinics after "
        "emergency visits.",
        "Building A, ground floor",
        "+1-212-555-0199",
        ("Emergency Medicine", "Trauma Care", "Toxicology", "Critical Care"),
        (15,),
    ),
)

MORNING, AFTERNOON = (time(9), time(12, 30)), (time(13, 30), time(17))
WEEK = range(5)
#: Weekly patterns in hospital time, as (weekday, start, end) periods.
OFFICE_WEEKS = (
    [(day, *period) for day in WEEK for period in (MORNING, AFTERNOON)],
    [(day, *period) for day in WEEK for period in (MORNING, AFTERNOON)] + [(5, time(9), time(12))],
    [(day, *period) for day in WEEK for period in ((time(8), time(12)), (time(13), time(16)))],
    [(day, *period) for day in (0, 1, 3) for period in (MORNING, AFTERNOON)],
)
SHIFT_WEEKS = (
    [(day, time(7), time(15)) for day in WEEK],
    [(day, time(14), time(22)) for day in WEEK],
    [(day, time(7), time(15)) for day in (2, 3, 4, 5, 6)],
)

GENDERS = (("female", 49), ("male", 48), ("other", 1.5), ("unknown", 1.5))
BLOOD_TYPES = (
    ("O+", 35), ("A+", 31), ("B+", 8), ("AB+", 3),
    ("O-", 6), ("A-", 5), ("B-", 1.5), ("AB-", 0.5), (None, 10),
)  # fmt: skip
ALLERGENS = (
    "Penicillin", "Amoxicillin", "Sulfonamides", "Aspirin", "Ibuprofen", "Codeine",
    "Latex", "Iodinated contrast", "Peanuts", "Tree nuts", "Shellfish", "Eggs",
    "Bee stings", "Pollen", "Dust mites",
)  # fmt: skip
#: Age bands (years, inclusive) and their share of the demo population.
AGE_BANDS = (((0, 17), 20), ((18, 34), 22), ((35, 49), 20), ((50, 64), 20), ((65, 95), 18))

#: The demo schedule: appointments from PAST_DAYS ago to FUTURE_DAYS ahead.
PAST_DAYS, FUTURE_DAYS = 90, 30
#: The share of a past day's working time that is booked, drawn per doctor; days ahead
#: fill less the further they are (half as much a month ahead).
FILL = (0.38, 0.56)
#: How long visits last (minutes, share), rounded up to whole slots of the doctor's grid.
VISIT_MINUTES = ((20, 35), (30, 40), (45, 17), (60, 8))
PAST_STATUSES = (
    (Status.COMPLETED.value, 77), (Status.CANCELLED.value, 14), (Status.NO_SHOW.value, 9),
)  # fmt: skip
FUTURE_CANCELLED = 0.06
#: How long before the visit it is booked: hours, days or weeks (ranges in hours).
BOOKING_LEAD_HOURS = ((2, 48), (48, 14 * 24), (14 * 24, 60 * 24))
#: The share of bookings that bring back a patient the doctor has already seen.
RETURNING = 0.4
#: The inactive demo doctor stopped seeing patients this many days ago.
INACTIVE_SINCE_DAYS = 20
REASONS = {
    "Cardiology": (
        "Chest pain", "Palpitations", "High blood pressure", "Shortness of breath",
        "Heart murmur", "ECG review", "Echocardiogram", "Swollen ankles",
    ),
    "Neurology": (
        "Headache", "Migraine", "Dizziness", "Numbness in hands", "Seizure review",
        "Memory concerns", "Tremor", "Stroke follow-up",
    ),
    "Pediatrics": (
        "Well-child visit", "Vaccination", "Fever", "Ear pain", "Cough", "Rash",
        "Growth check", "Asthma review", "Sore throat",
    ),
    "Orthopedics": (
        "Knee pain", "Back pain", "Shoulder pain", "Sprained ankle", "Fracture follow-up",
        "Hip pain", "Wrist pain", "Sports injury",
    ),
    "Oncology": (
        "Chemotherapy review", "Scan results", "New referral", "Blood count check",
        "Survivorship visit", "Treatment planning", "Lump assessment",
    ),
    "Emergency Medicine": (
        "Wound check", "Follow-up after emergency visit", "Stitches removal", "Burn dressing",
        "Concussion follow-up", "Abdominal pain", "Cast check",
    ),
}  # fmt: skip
GENERAL_REASONS = ("Annual check-up", "Second opinion", "Referral from primary care")
LONG_REASONS = ("New patient consultation", "Annual check-up", "Comprehensive assessment")
FOLLOW_UP_REASONS = ("Follow-up", "Follow-up", "Follow-up", "Test results review",
                     "Medication review")  # fmt: skip
NOTES = (
    "Bring previous test results.", "Interpreter needed (Spanish).",
    "Wheelchair access requested.", "Fasting blood test before the visit.",
    "Referred by primary care physician.", "Prefers a phone reminder the day before.",
    "Accompanied by a parent or guardian.",
)  # fmt: skip
CANCELLATION_REASONS = (
    "Patient request", "Patient unwell", "Work conflict", "Transport problem",
    "Doctor unavailable", "Symptoms resolved", "Booked another time", "Family emergency",
)  # fmt: skip
#: The demo patient's visits to the demo doctor: days from today and the reason.
DEMO_VISITS = ((-62, "Chest pain"), (-34, "Test results review"), (-9, "Follow-up"),
               (4, "Follow-up"), (16, "Annual check-up"))  # fmt: skip
#: Time off ahead: (doctor's index, days ahead, length in days, reason); whole weeks start
#: on a Monday.
TIME_OFF = ((0, 10, 1, "Medical conference"), (DOCTORS_PER_DEPARTMENT + 1, 17, 7, "Annual leave"))


def seed(*, if_empty: bool, echo: Callable[[str], object]) -> None:
    """Load the demo hospital once; afterwards (or next to other users) only report."""
    seeded = _find_user(ADMIN_EMAIL) is not None
    if seeded:
        echo("The demo hospital is already loaded; nothing changed.")
    elif if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        echo("The database already has users; demo data not loaded.")
        return
    else:
        counts = _load()
        db.session.commit()
        echo(
            "Demo hospital loaded: {} departments, {} doctors, {} patients, "
            "{} appointments.".format(*counts)
        )
    _echo_logins(echo)


def _load() -> tuple[int, int, int, int]:
    taken = [email for email in (RECEPTION_EMAIL, DOCTOR_EMAIL, PATIENT_EMAIL) if _find_user(email)]
    if taken:
        raise click.ClickException(
            f"Demo logins already exist without the demo admin: {', '.join(taken)}."
        )
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)
    password_hash = hash_password(PASSWORD)

    departments = _departments()
    users = {
        role: User(name=name, email=email, role=role, password_hash=password_hash)
        for role, name, email in (
            (Role.ADMIN, "Demo Administrator", ADMIN_EMAIL),
            (Role.RECEPTIONIST, "Demo Receptionist", RECEPTION_EMAIL),
            (Role.DOCTOR, "", DOCTOR_EMAIL),
            (Role.PATIENT, "", PATIENT_EMAIL),
        )
    }
    doctors = _doctors(fake, rng, departments)
    patients = _patients(fake, rng, departments)

    users[Role.DOCTOR].name = f"{doctors[0].first_name} {doctors[0].last_name}"
    adult = next(p for p in patients if p.date_of_birth.year < 2000 and p.gender == "female")
    adult.email = PATIENT_EMAIL
    users[Role.PATIENT].name = f"{adult.first_name} {adult.last_name}"
    # A long-standing patient, so that her visits to the demo doctor follow her registration.
    long_ago = timeutil.now() - timedelta(days=400)
    adult.created_at = adult.updated_at = min(adult.created_at, long_ago)

    db.session.add_all(users.values())
    db.session.flush()
    doctors[0].user_id = users[Role.DOCTOR].id
    adult.user_id = users[Role.PATIENT].id
    db.session.add_all(doctors)
    db.session.add_all(patients)
    db.session.flush()
    appointments = Schedule(rng, departments, doctors, patients, users, adult).load()
    return len(departments), len(doctors), len(patients), appointments


def _departments() -> list[Department]:
    """The demo departments; one that already exists under the same name is reused."""
    existing = {
        department.name.lower(): department
        for department in db.session.scalars(
            select(Department).where(
                func.lower(Department.name).in_([plan.name.lower() for plan in DEPARTMENTS])
            )
        )
    }
    departments = [
        existing.get(plan.name.lower())
        or Department(
            name=plan.name, description=plan.description, location=plan.location, phone=plan.phone
        )
        for plan in DEPARTMENTS
    ]
    db.session.add_all(departments)
    db.session.flush()
    return departments


def _doctors(fake: Faker, rng: random.Random, departments: list[Department]) -> list[Doctor]:
    emails = set(db.session.scalars(select(func.lower(Doctor.email))))
    licences = set(db.session.scalars(select(Doctor.license_number)))
    doctors = []
    for plan, department in zip(DEPARTMENTS, departments, strict=True):
        weeks = SHIFT_WEEKS if plan.name == "Emergency Medicine" else OFFICE_WEEKS
        for index in range(DOCTORS_PER_DEPARTMENT):
            first, last = fake.first_name(), fake.last_name()
            email = _unique(f"{_slug(first)}.{_slug(last)}@{DOMAIN}", emails)
            licence = _unique(f"MD-{rng.randrange(10**6, 10**7)}", licences)
            week = weeks[index % len(weeks)]
            doctors.append(
                Doctor(
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=_phone(fake),
                    specialization=plan.specializations[index % len(plan.specializations)],
                    license_number=licence,
                    department_id=department.id,
                    slot_minutes=rng.choice(plan.slot_minutes),
                    working_hours=[
                        WorkingPeriod(weekday=d, starts_at=s, ends_at=e) for d, s, e in week
                    ],
                )
            )
    doctors[-1].is_active = False  # one doctor on leave, so the filter has something to show
    return doctors


def _patients(fake: Faker, rng: random.Random, departments: list[Department]) -> list[Patient]:
    today = timeutil.today()
    now = timeutil.now()
    pediatrics = next(d for d in departments if d.name == "Pediatrics")
    adult_departments = [d for d in departments if d is not pediatrics]
    patients = []
    for _ in range(PATIENT_COUNT):
        gender = _weighted(rng, GENDERS)
        first = {"female": fake.first_name_female, "male": fake.first_name_male}.get(
            gender, fake.first_name
        )()
        last = fake.last_name()
        born = _date_of_birth(rng, today)
        is_child = (today - born).days < 18 * 365
        registered = now - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        registered = max(registered, datetime.combine(born, time(12), tzinfo=UTC))
        patient = Patient(
            first_name=first,
            last_name=last,
            date_of_birth=born,
            gender=gender,
            blood_type=_weighted(rng, BLOOD_TYPES),
            phone=_phone(fake) if rng.random() < 0.9 else None,
            address=_address(fake) if rng.random() < 0.95 else None,
            created_at=registered,
            updated_at=registered,
        )
        if not is_child and rng.random() < 0.7:
            patient.email = f"{_slug(first)}.{_slug(last)}@{fake.safe_domain_name()}"
        if rng.random() < 0.25:
            patient.allergies = ", ".join(rng.sample(ALLERGENS, rng.choice((1, 1, 1, 2, 3))))
        if is_child or rng.random() < 0.85:
            relative = last if is_child or rng.random() < 0.6 else fake.last_name()
            patient.emergency_contact_name = f"{fake.first_name()} {relative}"
            patient.emergency_contact_phone = _phone(fake)
        if is_child and rng.random() < 0.8:
            patient.department_id = pediatrics.id
        elif rng.random() < 0.6:
            patient.department_id = rng.choice(adult_departments).id
        patients.append(patient)
    _assign_mrns(patients)
    return patients


def _assign_mrns(patients: list[Patient]) -> None:
    """MRNs from the usual generator, unique within the batch and against the table."""
    mrns: dict[str, None] = {}
    while len(mrns) < len(patients):
        fresh = {new_mrn(): None for _ in range(len(patients) - len(mrns))}
        taken = set(db.session.scalars(select(Patient.mrn).where(Patient.mrn.in_(fresh))))
        mrns.update((mrn, None) for mrn in fresh if mrn not in taken)
    for patient, mrn in zip(patients, mrns, strict=True):
        patient.mrn = mrn


def _date_of_birth(rng: random.Random, today: date) -> date:
    low, high = _weighted(rng, AGE_BANDS)
    age = rng.randint(low, high)
    born = today - timedelta(days=age * 365.25 + rng.randrange(365))
    return min(born, today)


@dataclass(slots=True)
class _Slot:
    doctor: Doctor
    start: datetime
    end: datetime
    demo: bool


class Schedule:
    """The demo appointments, their history and some time off, under the booking rules.

    Each appointment lies on its doctor's slot grid inside one working period (hospital
    time) and outside time off, and never overlaps another of the same doctor or the same
    patient, whatever its status; an inactive doctor has nothing ahead. Bookings are made
    by the demo receptionist; check-ins, no-shows and cancellations are recorded by her,
    completions by the doctor's login (the admin for doctors without one). The rows go in
    with one bulk insert per table.
    """

    def __init__(
        self,
        rng: random.Random,
        departments: list[Department],
        doctors: list[Doctor],
        patients: list[Patient],
        users: dict[Role, User],
        demo_patient: Patient,
    ):
        self.rng = rng
        self.tz = timeutil.hospital_tz()
        self.now = timeutil.now()
        self.today = timeutil.today()
        self.doctors = doctors
        self.demo_patient = demo_patient
        self.plans = {d.id: plan for plan, d in zip(DEPARTMENTS, departments, strict=True)}
        self.reception = users[Role.RECEPTIONIST].id
        self.admin = users[Role.ADMIN].id
        self.pools = self._pools(patients)
        self.busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.seen: dict[int, list[Patient]] = defaultdict(list)
        self.seen_ids: dict[int, set[int]] = defaultdict(set)
        self.time_off: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)

    def load(self) -> int:
        """Insert everything; the number of appointments."""
        self._add_time_off()
        slots = sorted(
            (slot for doctor in self.doctors for slot in self._grid(doctor)),
            key=lambda slot: (slot.start, slot.doctor.id),
        )
        booked = [b for b in map(self._book, slots) if b is not None]
        # Plain executemany on the tables (no RETURNING, which SQLite answers row by row);
        # the demo doctors' appointments never overlap, so a doctor and a start name one.
        # Those that hold time go in first, each in booking order: SQLite's no-overlap
        # trigger then compares each of them with few rows, and skips the rest.
        booked.sort(key=lambda b: (b[0]["status"] not in ACTIVE_STATUSES, b[0]["created_at"]))
        db.session.execute(Appointment.__table__.insert(), [row for row, _ in booked])
        ids = {
            (doctor_id, start): appointment_id
            for appointment_id, doctor_id, start in db.session.execute(
                select(Appointment.id, Appointment.doctor_id, Appointment.start_time).where(
                    Appointment.doctor_id.in_([doctor.id for doctor in self.doctors])
                )
            )
        }
        events = [
            {**event, "appointment_id": ids[row["doctor_id"], row["start_time"]]}
            for row, history in booked
            for event in history
        ]
        events.sort(key=lambda event: event["changed_at"])
        db.session.execute(AppointmentEvent.__table__.insert(), events)
        return len(booked)

    # Time ------------------------------------------------------------------------------

    def _add_time_off(self) -> None:
        rows = []
        for index, ahead, days, reason in TIME_OFF:
            doctor = self.doctors[index]
            first = self._working_day(doctor, self.today + timedelta(days=ahead))
            if days % 7 == 0:
                first += timedelta(days=-first.weekday() % 7)
            start, end = (
                datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)
                for day in (first, first + timedelta(days=days))
            )
            self.time_off[doctor.id].append((start, end))
            rows.append(
                TimeOff(
                    doctor_id=doctor.id,
                    start_time=start,
                    end_time=end,
                    reason=reason,
                    created_by=doctor.user_id or self.admin,
                    created_at=self.now - timedelta(days=self.rng.randrange(2, 20)),
                )
            )
        db.session.add_all(rows)

    def _working_day(self, doctor: Doctor, day: date) -> date:
        """The first day from `day` on that the doctor works and is not off."""
        weekdays = {period.weekday for period in doctor.working_hours}
        while day.weekday() not in weekdays or self._off(doctor, *timeutil.day_bounds(day)):
            day += timedelta(days=1)
        return day

    def _off(self, doctor: Doctor, start: datetime, end: datetime) -> bool:
        return any(rules.overlaps(start, end, *off) for off in self.time_off[doctor.id])

    def _grid(self, doctor: Doctor) -> Iterator[_Slot]:
        """Booked stretches of the doctor's grid, in time order, each a visit of 20 to 60
        minutes rounded up to whole slots."""
        rng = self.rng
        step = timedelta(minutes=doctor.slot_minutes)
        lengths = [(-(-minutes // doctor.slot_minutes), share) for minutes, share in VISIT_MINUTES]
        mean = sum(n * share for n, share in lengths) / sum(share for _, share in lengths)
        target = rng.uniform(*FILL)
        until = None if doctor.is_active else self.now - timedelta(days=INACTIVE_SINCE_DAYS)
        demo = self._demo_starts(doctor) if doctor is self.doctors[0] else set()
        for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
            day = self.today + timedelta(days=offset)
            fill = target * (1 - 0.5 * max(offset, 0) / FUTURE_DAYS)
            # Booking a free position with this chance fills about `fill` of the time.
            chance = fill / (mean * (1 - fill) + fill)
            for period in doctor.working_hours:
                if period.weekday != day.weekday():
                    continue
                start, period_end = rules.period_bounds(
                    day, period.starts_at, period.ends_at, self.tz
                )
                while start + step <= period_end:
                    if until is not None and start + step > until:
                        return  # periods come in time order: nothing later qualifies
                    if start in demo:
                        length = 1
                    elif rng.random() < chance:
                        length = _weighted(rng, lengths)
                    else:
                        start += step
                        continue
                    end = start + length * step
                    while length > 1 and (end > period_end or any(start < d < end for d in demo)):
                        length -= 1
                        end = start + length * step
                    if self._off(doctor, start, end):
                        start += step
                        continue
                    yield _Slot(doctor, start, end, start in demo)
                    start = end

    def _demo_starts(self, doctor: Doctor) -> set[datetime]:
        """Where the demo patient sees the demo doctor: the third slot of a working day."""
        starts = set()
        for offset, _ in DEMO_VISITS:
            day = self._working_day(doctor, self.today + timedelta(days=offset))
            period = next(p for p in doctor.working_hours if p.weekday == day.weekday())
            start = rules.period_bounds(day, period.starts_at, period.ends_at, self.tz)[0]
            starts.add(start + 2 * timedelta(minutes=doctor.slot_minutes))
        return starts

    # People ----------------------------------------------------------------------------

    def _pools(self, patients: list[Patient]) -> dict[int, tuple[list[Patient], ...]]:
        """Who may come to each department: children go to Pediatrics (and Emergency
        Medicine), adults elsewhere, mostly to their own department."""
        adult_born = self.today - timedelta(days=18 * 365)
        children = [p for p in patients if p.date_of_birth > adult_born]
        adults = [p for p in patients if p.date_of_birth <= adult_born]
        adults.remove(self.demo_patient)  # she sees the demo doctor only (DEMO_VISITS)
        pools = {}
        for department_id, plan in self.plans.items():
            if plan.name == "Pediatrics":
                pools[department_id] = (children,)
            elif plan.name == "Emergency Medicine":
                pools[department_id] = (children + adults,)
            else:
                own = [p for p in adults if p.department_id == department_id]
                pools[department_id] = (own, adults) if own else (adults,)
        return pools

    def _patient(self, slot: _Slot) -> Patient | None:
        """A patient registered a day before, and free then; often one seen before."""
        rng, doctor = self.rng, slot.doctor
        registered_by = min(slot.start, self.now) - timedelta(days=1)
        seen, pools = self.seen[doctor.id], self.pools[doctor.department_id]
        for _ in range(20):
            if seen and rng.random() < RETURNING:
                patient = rng.choice(seen)
            else:
                pool = pools[0] if len(pools) == 1 or rng.random() < 0.6 else pools[1]
                patient = rng.choice(pool)
            if patient.created_at <= registered_by and self._free(patient, slot):
                return patient
        return None

    def _free(self, patient: Patient, slot: _Slot) -> bool:
        horizon = slot.start - timedelta(minutes=rules.MAX_MINUTES)
        for start, end in reversed(self.busy[patient.id]):  # in start order
            if rules.overlaps(slot.start, slot.end, start, end):
                return False
            if start < horizon:
                return True
        return True

    # Appointments ----------------------------------------------------------------------

    def _book(self, slot: _Slot) -> tuple[dict, list[dict]] | None:
        rng, doctor = self.rng, slot.doctor
        if slot.demo:  # kept out of `seen`, so that she has these visits only
            patient = self.demo_patient
            status = Status.SCHEDULED if slot.start > self.now else Status.COMPLETED
            reason = DEMO_VISITS[len(self.busy[patient.id])][1]
        else:
            status = self._status(slot)
            patient = self._patient(slot)
            if patient is None:
                return None
            reason = self._reason(doctor, patient, slot)
            if patient.id not in self.seen_ids[doctor.id]:
                self.seen_ids[doctor.id].add(patient.id)
                self.seen[doctor.id].append(patient)
        self.busy[patient.id].append((slot.start, slot.end))
        booked_at = self._booked_at(slot, patient)
        cancellation = rng.choice(CANCELLATION_REASONS) if status == Status.CANCELLED else None
        history = self._history(slot, status, booked_at, cancellation)
        appointment = {
            "patient_id": patient.id,
            "doctor_id": doctor.id,
            "department_id": doctor.department_id,
            "start_time": slot.start,
            "end_time": slot.end,
            "status": status.value,
            "reason": reason,
            "notes": rng.choice(NOTES) if rng.random() < 0.1 else None,
            "cancellation_reason": cancellation,
            "created_by": self.reception,
            "created_at": booked_at,
            "updated_at": history[-1]["changed_at"],
            "archived_at": None,
        }
        return appointment, history

    def _status(self, slot: _Slot) -> Status:
        """Ahead: scheduled, a few cancelled. Past: completed, cancelled or no-show, but
        checked in while the visit is on or has just ended."""
        if slot.start > self.now:
            return Status.CANCELLED if self.rng.random() < FUTURE_CANCELLED else Status.SCHEDULED
        status = Status(_weighted(self.rng, PAST_STATUSES))
        if status == Status.COMPLETED and slot.end + timedelta(minutes=30) > self.now:
            return Status.CHECKED_IN
        if status == Status.NO_SHOW and slot.start + timedelta(minutes=15) > self.now:
            return Status.CHECKED_IN
        return status

    def _reason(self, doctor: Doctor, patient: Patient, slot: _Slot) -> str:
        rng = self.rng
        if patient.id in self.seen_ids[doctor.id] and rng.random() < 0.8:
            return rng.choice(FOLLOW_UP_REASONS)
        if slot.end - slot.start > timedelta(minutes=doctor.slot_minutes) and rng.random() < 0.5:
            return rng.choice(LONG_REASONS)
        if rng.random() < 0.15:
            return rng.choice(GENERAL_REASONS)
        return rng.choice(REASONS[self.plans[doctor.department_id].name])

    def _booked_at(self, slot: _Slot, patient: Patient) -> datetime:
        """Hours to weeks ahead, after the patient registered, and before now."""
        rng = self.rng
        low, high = rng.choice(BOOKING_LEAD_HOURS)
        booked_at = slot.start - timedelta(seconds=rng.randrange(low * 3600, high * 3600))
        if booked_at >= self.now:
            booked_at = self.now - timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
        return max(booked_at, patient.created_at + timedelta(hours=1))

    def _history(
        self, slot: _Slot, status: Status, booked_at: datetime, cancellation: str | None
    ) -> list[dict]:
        """The booking, then each status change, each with the times and who made it."""
        rng = self.rng
        doctor = slot.doctor

        def event(state: Status, at: datetime, by: int, reason: str | None = None) -> dict:
            return {
                "status": state.value,
                "start_time": slot.start,
                "end_time": slot.end,
                "reason": reason,
                "changed_by": by,
                "changed_at": at,
            }

        def minutes(low: int, high: int) -> timedelta:
            return timedelta(seconds=rng.randrange(low * 60, high * 60))

        history = [event(Status.SCHEDULED, booked_at, self.reception)]
        if status in (Status.CHECKED_IN, Status.COMPLETED):
            arrived = slot.start - minutes(1, 20)
            history.append(event(Status.CHECKED_IN, arrived, self.reception))
        if status == Status.COMPLETED:
            done = slot.end + minutes(0, 25)
            history.append(event(Status.COMPLETED, done, doctor.user_id or self.admin))
        elif status == Status.NO_SHOW:
            marked = min(slot.start + minutes(15, 45), self.now)
            history.append(event(Status.NO_SHOW, marked, self.reception))
        elif status == Status.CANCELLED:
            until = min(slot.start, self.now)
            at = booked_at + (until - booked_at) * rng.uniform(0.2, 0.98)
            history.append(event(Status.CANCELLED, at, self.reception, cancellation))
        return history


def _weighted(rng: random.Random, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _phone(fake: Faker) -> str:
    # 555-01xx numbers are reserved for fiction, so no real line is printed.
    return fake.numerify("+1-%##-555-01##")


def _address(fake: Faker) -> str:
    return f"{fake.street_address()}, {fake.city()}, {fake.state_abbr()} {fake.zipcode()}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _unique(candidate: str, taken: set[str]) -> str:
    local, at, domain = candidate.partition("@")
    value, n = candidate, 1
    while value.lower() in taken:
        n += 1
        value = f"{local}{n}{at}{domain}"
    taken.add(value.lower())
    return value


def _find_user(email: str) -> User | None:
    return users_service.find_by_email(email)


def _echo_logins(echo: Callable[[str], object]) -> None:
    doctor = db.session.scalar(
        select(Doctor)
        .join(User, User.id == Doctor.user_id)
        .where(User.email_key == canonical_email(DOCTOR_EMAIL))
    )
    rows = [
        (ADMIN_EMAIL, Role.ADMIN.value),
        (RECEPTION_EMAIL, Role.RECEPTIONIST.value),
        (DOCTOR_EMAIL, Role.DOCTOR.value),
        (PATIENT_EMAIL, Role.PATIENT.value),
    ]
    echo("")
    echo("  Demo logins")
    echo(f"  {'email':<32}{'password':<22}role")
    for email, role in rows:
        echo(f"  {email:<32}{PASSWORD:<22}{role}")
    if doctor is not None:
        echo(
            f"  (the doctor login is Dr. {doctor.first_name} {doctor.last_name}, "
            f"{doctor.department.name})"
        )
