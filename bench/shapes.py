"""The shape of the benchmark hospital: departments, weekly schedules, mixes and words.

The same shapes as the demo hospital (meditrack/demo.py), at the size the benchmarks
need: 12 departments and 200 doctors. Kept here rather than imported from the demo so
that the benchmark database does not change when the demo does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

TIMEZONE = "America/New_York"
DOMAIN = "bench.meditrack.org"
PASSWORD = "meditrack-bench-2026"
ROLES = ("admin", "receptionist", "doctor", "patient")
#: users.id of each login, inserted with these ids.
USER_IDS = {role: index for index, role in enumerate(ROLES, start=1)}
DOCTORS = 200
#: The doctor and the patient who have logins.
BENCH_DOCTOR_ID = 1
BENCH_PATIENT_ID = 1

#: Days of appointments before today and after it: two years in all.
PAST_DAYS, FUTURE_DAYS = 640, 90
#: Appointments per patient, on average, past and future together.
APPOINTMENTS_PER_PATIENT = 5
#: At most this share of the appointments lie ahead (doctors' calendars cap it).
FUTURE_SHARE = 0.04
#: The share of a doctor's working time booked tomorrow; it falls towards 20 % of that
#: at FUTURE_DAYS ahead.
FUTURE_FILL = 0.85
#: Patients are registered over this many years before today, in id order.
REGISTRATION_YEARS = 6


@dataclass(frozen=True)
class DepartmentPlan:
    name: str
    location: str
    slot_minutes: tuple[int, ...]
    specializations: tuple[str, ...]
    reasons: tuple[str, ...]
    diagnoses: tuple[str, ...]


DEPARTMENTS = (
    DepartmentPlan(
        "Cardiology", "Building A, 2nd floor", (20, 30),
        ("Cardiology", "Interventional Cardiology", "Electrophysiology", "Heart Failure"),
        ("Chest pain", "Palpitations", "High blood pressure", "Shortness of breath",
         "ECG review", "Echocardiogram", "Swollen ankles"),
        ("Essential hypertension", "Atrial fibrillation", "Stable angina",
         "Heart failure, NYHA II", "Benign palpitations"),
    ),
    DepartmentPlan(
        "Neurology", "Building A, 3rd floor", (30,),
        ("Neurology", "Stroke Medicine", "Epileptology", "Movement Disorders"),
        ("Headache", "Migraine", "Dizziness", "Numbness in hands", "Seizure review",
         "Memory concerns", "Tremor"),
        ("Migraine without aura", "Tension-type headache", "Focal epilepsy",
         "Carpal tunnel syndrome", "Essential tremor"),
    ),
    DepartmentPlan(
        "Pediatrics", "Building B, ground floor", (15, 20),
        ("General Pediatrics", "Neonatology", "Pediatric Cardiology", "Pediatric Neurology"),
        ("Well-child visit", "Vaccination", "Fever", "Ear pain", "Cough", "Rash",
         "Growth check", "Asthma review"),
        ("Acute otitis media", "Viral upper respiratory infection", "Atopic dermatitis",
         "Childhood asthma", "Healthy child, routine check"),
    ),
    DepartmentPlan(
        "Orthopedics", "Building C, 1st floor", (15, 20, 30),
        ("Orthopedic Surgery", "Sports Medicine", "Spine Surgery", "Hand Surgery"),
        ("Knee pain", "Back pain", "Shoulder pain", "Sprained ankle", "Fracture follow-up",
         "Hip pain", "Sports injury"),
        ("Lumbar strain", "Ankle sprain", "Knee osteoarthritis", "Rotator cuff tendinopathy",
         "Distal radius fracture, healing"),
    ),
    DepartmentPlan(
        "Oncology", "Building D, 2nd floor", (30,),
        ("Medical Oncology", "Radiation Oncology", "Hematology-Oncology", "Surgical Oncology"),
        ("Chemotherapy review", "Scan results", "New referral", "Blood count check",
         "Survivorship visit", "Treatment planning"),
        ("Breast cancer, on adjuvant therapy", "Colorectal cancer, in remission",
         "Iron deficiency anemia", "Lymphoma, follow-up", "Benign breast lump"),
    ),
    DepartmentPlan(
        "Emergency Medicine", "Building A, ground floor", (15,),
        ("Emergency Medicine", "Trauma Care", "Toxicology", "Critical Care"),
        ("Wound check", "Follow-up after emergency visit", "Stitches removal", "Burn dressing",
         "Concussion follow-up", "Cast check"),
        ("Laceration, healing", "Minor burn", "Concussion, resolving", "Contusion",
         "Gastroenteritis"),
    ),
    DepartmentPlan(
        "Dermatology", "Building B, 2nd floor", (15, 20),
        ("Dermatology", "Dermatologic Surgery", "Pediatric Dermatology", "Dermatopathology"),
        ("Rash", "Mole check", "Acne", "Eczema review", "Psoriasis review", "Itching"),
        ("Acne vulgaris", "Psoriasis vulgaris", "Benign nevus", "Contact dermatitis",
         "Seborrheic keratosis"),
    ),
    DepartmentPlan(
        "Gastroenterology", "Building C, 2nd floor", (20, 30),
        ("Gastroenterology", "Hepatology", "Endoscopy", "Inflammatory Bowel Disease"),
        ("Abdominal pain", "Heartburn", "Endoscopy results", "Liver tests review",
         "Change in bowel habit", "Crohn's review"),
        ("Gastroesophageal reflux disease", "Irritable bowel syndrome", "Fatty liver disease",
         "Crohn's disease, stable", "Gastritis"),
    ),
    DepartmentPlan(
        "Pulmonology", "Building A, 4th floor", (20, 30),
        ("Pulmonology", "Sleep Medicine", "Interventional Pulmonology", "Critical Care"),
        ("Cough", "Shortness of breath", "Asthma review", "COPD review", "Sleep study results",
         "Spirometry"),
        ("Asthma, well controlled", "COPD, GOLD 2", "Obstructive sleep apnea",
         "Community-acquired pneumonia, resolved", "Chronic cough"),
    ),
    DepartmentPlan(
        "Endocrinology", "Building D, 1st floor", (20, 30),
        ("Endocrinology", "Diabetology", "Thyroid Disorders", "Metabolic Bone Disease"),
        ("Diabetes review", "Thyroid tests review", "Weight management", "Insulin adjustment",
         "Osteoporosis review"),
        ("Type 2 diabetes mellitus", "Hypothyroidism", "Graves' disease", "Osteoporosis",
         "Prediabetes"),
    ),
    DepartmentPlan(
        "Obstetrics and Gynecology", "Building E, 1st floor", (20, 30),
        ("Obstetrics", "Gynecology", "Maternal-Fetal Medicine", "Reproductive Endocrinology"),
        ("Prenatal visit", "Ultrasound", "Annual exam", "Pelvic pain", "Contraception advice",
         "Postnatal check"),
        ("Normal pregnancy, 2nd trimester", "Polycystic ovary syndrome", "Endometriosis",
         "Uterine fibroids", "Routine gynecological exam"),
    ),
    DepartmentPlan(
        "Ophthalmology", "Building E, 2nd floor", (15, 20),
        ("Ophthalmology", "Retina", "Glaucoma", "Pediatric Ophthalmology"),
        ("Blurred vision", "Eye pressure check", "Red eye", "Cataract assessment",
         "Diabetic eye screening", "Glasses prescription"),
        ("Myopia", "Primary open-angle glaucoma", "Age-related cataract", "Dry eye syndrome",
         "Allergic conjunctivitis"),
    ),
)  # fmt: skip
PEDIATRICS = 1 + [plan.name for plan in DEPARTMENTS].index("Pediatrics")
EMERGENCY = 1 + [plan.name for plan in DEPARTMENTS].index("Emergency Medicine")

MORNING, AFTERNOON = (time(9), time(12, 30)), (time(13, 30), time(17))
WEEK = range(5)
#: Weekly patterns in hospital time, as (weekday, start, end) periods (as in the demo).
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

#: (value, weight) mixes, as in the demo.
GENDERS = (("female", 49), ("male", 48), ("other", 1.5), ("unknown", 1.5))
BLOOD_TYPES = (
    ("O+", 35), ("A+", 31), ("B+", 8), ("AB+", 3),
    ("O-", 6), ("A-", 5), ("B-", 1.5), ("AB-", 0.5), (None, 10),
)  # fmt: skip
AGE_BANDS = (((0, 17), 20), ((18, 34), 22), ((35, 49), 20), ((50, 64), 20), ((65, 95), 18))
VISIT_MINUTES = ((20, 35), (30, 40), (45, 17), (60, 8))
PAST_STATUSES = (("completed", 77), ("cancelled", 14), ("no_show", 9))
FUTURE_CANCELLED = 0.06
#: How long before the visit it is booked: ranges in hours, equally likely.
BOOKING_LEAD_HOURS = ((2, 48), (48, 14 * 24), (14 * 24, 60 * 24))
#: The share of a patient's visits that go to their usual doctor.
USUAL_DOCTOR = 0.6
#: The share of completed visits with a medical record.
RECORDED = 0.25

ALLERGENS = (
    "Penicillin", "Amoxicillin", "Sulfonamides", "Aspirin", "Ibuprofen", "Codeine",
    "Latex", "Iodinated contrast", "Peanuts", "Tree nuts", "Shellfish", "Eggs",
    "Bee stings", "Pollen", "Dust mites",
)  # fmt: skip
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
TREATMENTS = (
    "Continue current medication.", "Started on a low dose; review in 4 weeks.",
    "Physiotherapy referral.", "Lifestyle advice given.", "Blood tests ordered.",
    "Imaging requested.", "Prescription renewed for 3 months.", "No treatment needed.",
)  # fmt: skip
RECORD_NOTES = (
    "Patient reports improvement.", "Discussed results with the patient.",
    "Follow-up in 3 months.", "Family history noted.", "Symptoms unchanged since last visit.",
)  # fmt: skip
EMAIL_DOMAINS = ("mail.example", "post.example", "inbox.example", "example.org", "example.net")
CITIES = (
    ("Brooklyn", "NY"), ("Queens", "NY"), ("Bronx", "NY"), ("Jersey City", "NJ"),
    ("Newark", "NJ"), ("Yonkers", "NY"), ("Stamford", "CT"), ("Hoboken", "NJ"),
    ("New Rochelle", "NY"), ("Staten Island", "NY"), ("Paterson", "NJ"), ("Elizabeth", "NJ"),
)  # fmt: skip
