"""The demo hospital loaded by `flask seed-demo`: departments, doctors, patients, logins.

Names come from Faker with a fixed seed, so every run builds the same hospital (MRNs are
random, as they are for every patient). The demo admin's email marks a seeded database.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import click
from faker import Faker
from sqlalchemy import func, select

from meditrack.auth.passwords import hash_password
from meditrack.core import timeutil
from meditrack.departments.models import Department
from meditrack.doctors.models import Doctor, WorkingPeriod
from meditrack.extensions import db
from meditrack.patients.models import Patient
from meditrack.patients.service import new_mrn
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
        echo("Demo hospital loaded: {} departments, {} doctors, {} patients.".format(*counts))
    _echo_logins(echo)


def _load() -> tuple[int, int, int]:
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

    db.session.add_all(users.values())
    db.session.flush()
    doctors[0].user_id = users[Role.DOCTOR].id
    adult.user_id = users[Role.PATIENT].id
    db.session.add_all(doctors)
    db.session.add_all(patients)
    db.session.flush()
    return len(departments), len(doctors), len(patients)


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
    return db.session.scalar(select(User).where(func.lower(User.email) == email))


def _echo_logins(echo: Callable[[str], object]) -> None:
    doctor = db.session.scalar(
        select(Doctor).join(User, User.id == Doctor.user_id).where(User.email == DOCTOR_EMAIL)
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
