"""Filling the benchmark database with bulk SQL: generate_series for the large tables,
COPY for the small exact ones (departments, doctors, hours, time off, the days ahead).

Every phase runs in the caller's transaction on one psycopg connection. Random choices
come from PostgreSQL's random() (seeded) and Python's random.Random (seeded), so a build
of a given size is the same each time, up to the day it runs.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProvider

from bench import shapes
from bench.schedule import DoctorPlan, upcoming

SEED = 2026
USERS = shapes.USER_IDS


@dataclass(frozen=True)
class Clock:
    """The moment a build is anchored to, in UTC and in hospital time."""

    now: datetime
    today: date
    tz: ZoneInfo

    @classmethod
    def start(cls, timezone: str) -> Clock:
        tz = ZoneInfo(timezone)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        return cls(now=now, today=now.astimezone(tz).date(), tz=tz)

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    @property
    def child_born_after(self) -> date:
        return self.today - timedelta(days=round(18 * 365.25))


def weighted_list(weights: dict[str, float], size: int) -> list[str]:
    """The names repeated in proportion to their weights, about `size` in all, so that a
    uniform pick from the list follows the weights (Smith is common, Zamora is not)."""
    total = sum(weights.values())
    return [
        name
        for name, weight in weights.items()
        for _ in range(max(1, round(weight / total * size)))
    ]


def _names() -> dict[str, list[str]]:
    female = weighted_list(OrderedDict(PersonProvider.first_names_female), 4000)
    male = weighted_list(OrderedDict(PersonProvider.first_names_male), 4000)
    return {
        "female": female,
        "male": male,
        "last": weighted_list(OrderedDict(PersonProvider.last_names), 20000),
    }


def _pick(array: str, size: int, r: str) -> str:
    """SQL for a uniform pick from a 1-based array parameter, driven by a random column.

    The array is read as name[]: its elements have a fixed width, so a pick is one step,
    where a text[] is walked from its start on every pick (minutes at a million rows)."""
    return f"((%({array})s::name[])[1 + floor({r} * {size})::int])::text"


def _cumulative(column: str, choices, cast: str = "text") -> str:
    """SQL CASE picking a value from (value, weight) pairs with a uniform random column."""
    total = sum(weight for _, weight in choices)
    parts, running = [], 0.0
    for value, weight in choices[:-1]:
        running += weight / total
        literal = "NULL" if value is None else f"'{value}'"
        parts.append(f"WHEN {column} < {running:.6f} THEN {literal}::{cast}")
    last = choices[-1][0]
    return f"CASE {' '.join(parts)} ELSE {'NULL' if last is None else repr(last)}::{cast} END"


def _luhn(column: str) -> str:
    """SQL for the Luhn check digit of a 9-digit string (the app's MRN check digit)."""
    terms = []
    for position in range(9):
        digit = f"substr({column}, {position + 1}, 1)::int"
        if (8 - position) % 2 == 0:  # doubled: every other digit from the right
            terms.append(f"(CASE WHEN {digit} > 4 THEN 2 * {digit} - 9 ELSE 2 * {digit} END)")
        else:
            terms.append(digit)
    return f"((10 - ({' + '.join(terms)}) %% 10) %% 10)"


# Reference data ------------------------------------------------------------------------


def reference(conn: psycopg.Connection, clock: Clock, password_hash: str) -> list[DoctorPlan]:
    """Departments, the four logins, 200 doctors with working hours, and time off."""
    rng = random.Random(SEED)
    opened = clock.now - timedelta(days=365 * shapes.REGISTRATION_YEARS)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY departments (id, name, description, location, phone, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for index, plan in enumerate(shapes.DEPARTMENTS, start=1):
                description = f"{plan.name}: {', '.join(plan.specializations[:3]).lower()}."
                phone = f"+1-212-555-01{index:02d}"
                copy.write_row(
                    (index, plan.name, description, plan.location, phone, opened, opened)
                )
        names = {"admin": "Bench Administrator", "receptionist": "Bench Receptionist"}
        with cur.copy(
            "COPY users (id, name, email, password_hash, role, is_active, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for role, user_id in USERS.items():
                email = login_email(role)
                name = names.get(role, role.title())
                copy.write_row((user_id, name, email, password_hash, role, True, opened, opened))
        doctors = _doctors(cur, rng, clock, opened)
        _time_off(cur, rng, clock, doctors)
    return doctors


def login_email(role: str) -> str:
    return f"{role}@{shapes.DOMAIN}"


def _doctors(cur, rng: random.Random, clock: Clock, opened: datetime) -> list[DoctorPlan]:
    per_department = [
        shapes.DOCTORS // len(shapes.DEPARTMENTS)
        + (index < shapes.DOCTORS % len(shapes.DEPARTMENTS))
        for index in range(len(shapes.DEPARTMENTS))
    ]
    names = _names()
    emails: set[str] = set()
    licences: set[str] = set()
    plans: list[DoctorPlan] = []
    doctor_id = 0
    with cur.copy(
        "COPY doctors (id, first_name, last_name, email, phone, specialization, license_number, "
        "department_id, user_id, is_active, slot_minutes, created_at, updated_at) FROM STDIN"
    ) as copy:
        for department_id, (plan, count) in enumerate(
            zip(shapes.DEPARTMENTS, per_department, strict=True), start=1
        ):
            weeks = shapes.SHIFT_WEEKS if department_id == shapes.EMERGENCY else shapes.OFFICE_WEEKS
            for index in range(count):
                doctor_id += 1
                first = rng.choice(names["female"] if rng.random() < 0.5 else names["male"])
                last = rng.choice(names["last"])
                email = _unique(f"{first}.{last}".lower(), emails) + f"@{shapes.DOMAIN}"
                licence = _unique(f"MD-{rng.randrange(10**6, 10**7)}", licences)
                is_active = doctor_id != shapes.DOCTORS  # the last one is on leave
                user_id = USERS["doctor"] if doctor_id == shapes.BENCH_DOCTOR_ID else None
                slot = rng.choice(plan.slot_minutes)
                joined = opened + timedelta(days=rng.randrange(0, 200))
                phone = f"+1-{rng.randrange(201, 990)}-555-01{rng.randrange(100):02d}"
                specialization = plan.specializations[index % len(plan.specializations)]
                copy.write_row(
                    (doctor_id, first, last, email, phone, specialization, licence, department_id,
                     user_id, is_active, slot, joined, joined)
                )  # fmt: skip
                plans.append(
                    DoctorPlan(
                        id=doctor_id,
                        department_id=department_id,
                        slot_minutes=slot,
                        periods=list(weeks[index % len(weeks)]),
                        is_active=is_active,
                    )
                )
    with cur.copy(
        "COPY doctor_working_hours (doctor_id, weekday, starts_at, ends_at) FROM STDIN"
    ) as copy:
        for doctor in plans:
            for weekday, starts_at, ends_at in doctor.periods:
                copy.write_row((doctor.id, weekday, starts_at, ends_at))
    cur.execute(
        "UPDATE users SET name = d.first_name || ' ' || d.last_name FROM doctors d "
        "WHERE users.id = %s AND d.id = %s",
        (USERS["doctor"], shapes.BENCH_DOCTOR_ID),
    )
    return plans


def _unique(candidate: str, taken: set[str]) -> str:
    value, n = candidate, 1
    while value in taken:
        n += 1
        value = f"{candidate}{n}"
    taken.add(value)
    return value


def _time_off(cur, rng: random.Random, clock: Clock, doctors: list[DoctorPlan]) -> None:
    """A working week off per doctor about every six months in the past, and for half of
    them a few days off in the weeks ahead (from local midnight to local midnight)."""
    rows = []
    for doctor in doctors:
        for _ in range(round(shapes.PAST_DAYS / 182)):
            back = rng.randrange(14, shapes.PAST_DAYS - 7)
            monday = clock.today - timedelta(days=back)
            monday -= timedelta(days=monday.weekday())
            rows.append((doctor, monday, 7, "Annual leave"))
        if doctor.is_active and rng.random() < 0.5:
            first = clock.today + timedelta(days=rng.randrange(10, 80))
            rows.append((doctor, first, rng.randrange(1, 6), "Medical conference"))
    with cur.copy(
        "COPY doctor_time_off (doctor_id, start_time, end_time, reason, created_by, created_at) "
        "FROM STDIN"
    ) as copy:
        for doctor, first, days, reason in rows:
            start, end = clock.midnight(first), clock.midnight(first + timedelta(days=days))
            doctor.time_off.append((start, end))
            noticed = start - timedelta(days=rng.randrange(14, 60))
            copy.write_row((doctor.id, start, end, reason, USERS["admin"], min(noticed, clock.now)))


# Patients ------------------------------------------------------------------------------


def patients(conn: psycopg.Connection, clock: Clock, count: int) -> None:
    names = _names()
    streets = list(AddressProvider.street_suffixes)
    contact_first = names["female"] + names["male"]
    adult_departments = [
        index for index in range(1, len(shapes.DEPARTMENTS) + 1) if index != shapes.PEDIATRICS
    ]
    bands = shapes.AGE_BANDS
    # the band's low end, and how many years it spans
    low = _cumulative("r_band", [(low, weight) for (low, _), weight in bands], cast="int")
    spread = _cumulative(
        "r_band", [(high - low + 1, weight) for (low, high), weight in bands], cast="int"
    )
    phone = (
        "'+1-' || (201 + floor({a} * 789))::int || '-555-01' "
        "|| lpad(floor({b} * 100)::int::text, 2, '0')"
    )
    sql = f"""
    INSERT INTO patients (id, mrn, first_name, last_name, date_of_birth, gender, email, phone,
        address, department_id, blood_type, allergies, emergency_contact_name,
        emergency_contact_phone, user_id, created_at, updated_at, archived_at)
    SELECT id, mrn9 || {_luhn("mrn9")}, first_name, last_name, born, gender,
        CASE WHEN NOT child AND r_email < 0.7 THEN
            regexp_replace(lower(first_name), '[^a-z]', '', 'g') || '.'
            || regexp_replace(lower(last_name), '[^a-z]', '', 'g')
            || CASE WHEN r_email < 0.3 THEN (id %% 97)::text ELSE '' END
            || '@' || {_pick("domains", len(shapes.EMAIL_DOMAINS), "r_domain")}
        END,
        CASE WHEN r_phone < 0.9 THEN {phone.format(a="r_area", b="r_line")} END,
        CASE WHEN r_address < 0.95 THEN
            (1 + floor(r_house * 2999))::int || ' '
            || {_pick("last", len(names["last"]), "r_street")} || ' '
            || {_pick("streets", len(streets), "r_suffix")} || ', '
            || {_pick("cities", len(shapes.CITIES), "r_city")} || ' '
            || lpad((7001 + floor(r_zip * 4000))::int::text, 5, '0')
        END,
        CASE WHEN child AND r_dept < 0.8 THEN {shapes.PEDIATRICS}
             WHEN NOT child AND r_dept < 0.6
             THEN (%(adult_departments)s::int[])[1 + floor(r_dept2 * {len(adult_departments)})::int]
        END,
        {_cumulative("r_blood", shapes.BLOOD_TYPES)},
        CASE WHEN r_allergy < 0.25 THEN {_pick("allergens", len(shapes.ALLERGENS), "r_allergen")}
            || CASE WHEN r_allergy < 0.06
                    THEN ', ' || {_pick("allergens", len(shapes.ALLERGENS), "r_allergen2")}
                    ELSE '' END
        END,
        CASE WHEN child OR r_contact < 0.85 THEN
            {_pick("contact_first", len(contact_first), "r_contact_first")} || ' '
            || CASE WHEN child OR r_contact < 0.5 THEN last_name
                    ELSE {_pick("last", len(names["last"]), "r_contact_last")} END
        END,
        CASE WHEN child OR r_contact < 0.85 THEN {phone.format(a="r_carea", b="r_cline")} END,
        NULL, registered, registered,
        CASE WHEN id <> {shapes.BENCH_PATIENT_ID} AND r_archive < 0.005
             THEN registered + (%(now)s - registered) * r_archive2 END
    FROM (
        SELECT *, born > %(child_born_after)s AS child,
            GREATEST(
                %(opened)s + (id - 1 + r_registered) / %(count)s * (%(now)s - %(opened)s),
                (born + time '12:00') AT TIME ZONE %(tz)s
            ) AS registered,
            CASE WHEN gender = 'female' OR (gender IN ('other', 'unknown') AND r_first2 < 0.5)
                 THEN {_pick("female", len(names["female"]), "r_first")}
                 ELSE {_pick("male", len(names["male"]), "r_first")} END AS first_name,
            {_pick("last", len(names["last"]), "r_last")} AS last_name,
            lpad(((id::bigint * 738937397 + 104729) %% 1000000000)::text, 9, '0') AS mrn9
        FROM (
            SELECT *,
                {_cumulative("r_gender", shapes.GENDERS)} AS gender,
                %(today)s::date - floor(
                    (({low}) + floor(r_age * ({spread}))) * 365.25 + r_day * 365)::int AS born
            FROM (
                SELECT g.id, random() AS r_gender, random() AS r_band, random() AS r_age,
                    random() AS r_day, random() AS r_first, random() AS r_first2,
                    random() AS r_last, random() AS r_email, random() AS r_domain,
                    random() AS r_phone, random() AS r_area, random() AS r_line,
                    random() AS r_address, random() AS r_house, random() AS r_street,
                    random() AS r_suffix, random() AS r_city, random() AS r_zip,
                    random() AS r_dept, random() AS r_dept2, random() AS r_blood,
                    random() AS r_allergy, random() AS r_allergen, random() AS r_allergen2,
                    random() AS r_contact, random() AS r_contact_first,
                    random() AS r_contact_last, random() AS r_carea, random() AS r_cline,
                    random() AS r_registered, random() AS r_archive, random() AS r_archive2
                FROM generate_series(1, %(count)s) AS g(id)
                OFFSET 0
            ) r
        ) a
    ) p
    """
    params = {
        **names,
        "count": count,
        "now": clock.now,
        "today": clock.today,
        "tz": clock.tz.key,
        "opened": clock.now - timedelta(days=365 * shapes.REGISTRATION_YEARS),
        "child_born_after": clock.child_born_after,
        "domains": list(shapes.EMAIL_DOMAINS),
        "streets": streets,
        "cities": [f"{city}, {state}" for city, state in shapes.CITIES],
        "adult_departments": adult_departments,
        "allergens": list(shapes.ALLERGENS),
        "contact_first": contact_first,
    }
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.2026)")
        cur.execute(sql, params)
        # The patient with a login: an adult on the books for years, never archived.
        opened = params["opened"] + timedelta(days=1)
        cur.execute(
            "UPDATE patients SET user_id = %s, email = %s, created_at = %s, updated_at = %s, "
            "date_of_birth = LEAST(date_of_birth, %s), archived_at = NULL WHERE id = %s",
            (USERS["patient"], login_email("patient"), opened, opened,
             clock.today - timedelta(days=40 * 365), shapes.BENCH_PATIENT_ID),
        )  # fmt: skip
        cur.execute(
            "UPDATE users SET name = p.first_name || ' ' || p.last_name FROM patients p "
            "WHERE users.id = %s AND p.id = %s",
            (USERS["patient"], shapes.BENCH_PATIENT_ID),
        )


# Appointments --------------------------------------------------------------------------


def future(
    conn: psycopg.Connection, clock: Clock, doctors: list[DoctorPlan], patient_count: int
) -> list[dict]:
    """The appointments ahead, laid out in Python (none may overlap)."""
    target = round(patient_count * shapes.APPOINTMENTS_PER_PATIENT * shapes.FUTURE_SHARE)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT date_of_birth > %s, array_agg(id ORDER BY id) FROM patients "
            "WHERE archived_at IS NULL AND created_at < %s GROUP BY 1",
            (clock.child_born_after, clock.now - timedelta(days=61)),
        )
        pools = {child: ids for child, ids in cur.fetchall()}
    pools.setdefault(True, [])
    pools.setdefault(False, [])
    return upcoming(
        doctors,
        pools,
        today=clock.today,
        now=clock.now,
        tz=clock.tz,
        target=target,
        rng=random.Random(SEED),
    )


def past(conn: psycopg.Connection, clock: Clock, mean: float) -> None:
    """The appointments of the last PAST_DAYS days, about `mean` per patient.

    Each lies on its doctor's slot grid inside one working period and outside time off,
    after the patient registered. The schema lets past (completed, cancelled, no-show)
    appointments overlap, and at 1 M patients they must: 200 doctors cannot see 5 M
    patients one at a time in two years, so several share a slot."""
    reasons = _rectangular([plan.reasons for plan in shapes.DEPARTMENTS])
    past_end = clock.now - timedelta(hours=1)
    inactive_since = clock.now - timedelta(days=20)
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.42)")
        params = {
            "tz": clock.tz.key,
            "first": clock.today - timedelta(days=shapes.PAST_DAYS),
            "last": clock.today,
            "past_end": past_end,
            "inactive_since": inactive_since,
        }
        # Working periods first (their bounds computed once each), less time off...
        cur.execute(
            """
            CREATE TEMP TABLE doc_periods AS
            SELECT * FROM (
                SELECT d.id AS doctor_id, d.department_id, d.slot_minutes, d.is_active,
                       (day::date + wh.starts_at) AT TIME ZONE %(tz)s AS period_start,
                       (day::date + wh.ends_at) AT TIME ZONE %(tz)s AS period_end,
                       (extract(epoch FROM wh.ends_at - wh.starts_at) / 60)::int
                           / d.slot_minutes AS slots
                FROM doctors d
                JOIN doctor_working_hours wh ON wh.doctor_id = d.id
                JOIN generate_series(%(first)s::timestamp, %(last)s::timestamp,
                                     interval '1 day') AS day
                    ON wh.weekday = extract(isodow FROM day) - 1
            ) p
            WHERE period_end <= %(past_end)s AND (is_active OR period_end <= %(inactive_since)s)
            """,
            params,
        )
        cur.execute(
            "DELETE FROM doc_periods p USING doctor_time_off t "
            "WHERE t.doctor_id = p.doctor_id AND t.start_time < p.period_end "
            "AND t.end_time > p.period_start"
        )
        # ...then their slots, numbered 1, 2, ... in time order for each doctor,
        cur.execute(
            "CREATE TEMP TABLE doc_offsets AS SELECT *, sum(slots) OVER "
            "(PARTITION BY doctor_id ORDER BY period_start) - slots AS before FROM doc_periods"
        )
        cur.execute("CREATE INDEX ON doc_offsets (doctor_id, period_start)")
        cur.execute(
            """
            CREATE TEMP TABLE doc_slots AS
            SELECT doctor_id, department_id, slot_minutes, period_end,
                   period_start + k * make_interval(mins => slot_minutes) AS slot_start,
                   before + k + 1 AS rn
            FROM doc_offsets CROSS JOIN LATERAL generate_series(0, slots - 1) AS k
            """
        )
        cur.execute(
            "CREATE TEMP TABLE doc_n AS SELECT doctor_id, sum(slots) AS n FROM doc_periods "
            "GROUP BY doctor_id"
        )
        # ...and the number of each doctor's first slot on or after each day, so that a
        # patient's visits can be drawn from the slots after the day they registered.
        cur.execute(
            """
            CREATE TEMP TABLE doc_day AS
            SELECT n.doctor_id, g.day::date AS day, COALESCE((
                SELECT o.before + 1 FROM doc_offsets o
                WHERE o.doctor_id = n.doctor_id AND o.period_start >= g.day AT TIME ZONE %(tz)s
                ORDER BY o.period_start LIMIT 1), n.n + 1) AS first_rn
            FROM doc_n n
            CROSS JOIN generate_series(%(first)s::timestamp, %(last)s::timestamp
                                       + interval '1 day', interval '1 day') AS g(day)
            """,
            params,
        )
        cur.execute(
            "CREATE TEMP TABLE dept_docs AS SELECT department_id, id AS doctor_id, "
            "row_number() OVER (PARTITION BY department_id ORDER BY id) AS idx "
            "FROM doctors WHERE is_active"
        )
        cur.execute(
            "CREATE TEMP TABLE dept_n AS SELECT department_id, max(idx) AS n FROM dept_docs "
            "GROUP BY department_id"
        )
        cur.execute(
            "SELECT array_agg(id ORDER BY id) FILTER (WHERE department_id IN (%s, %s)), "
            "array_agg(id ORDER BY id) FILTER (WHERE department_id <> %s) FROM doctors",
            (shapes.PEDIATRICS, shapes.EMERGENCY, shapes.PEDIATRICS),
        )
        child_doctors, adult_doctors = cur.fetchone()
        adult_departments = [
            index for index in range(1, len(shapes.DEPARTMENTS) + 1) if index != shapes.PEDIATRICS
        ]
        cur.execute(
            f"""
            CREATE TEMP TABLE pp AS
            SELECT p.id, p.registered, p.child, p.first_day, dd.doctor_id AS usual_doctor,
                   1 + floor(-ln(1 - random()) * %(spread)s)::int AS k
            FROM (
                SELECT id, created_at AS registered,
                       date_of_birth > %(child_born_after)s AS child,
                       GREATEST(%(first)s::date, (created_at AT TIME ZONE %(tz)s)::date + 1)
                           AS first_day,
                       CASE WHEN date_of_birth > %(child_born_after)s THEN {shapes.PEDIATRICS}
                            WHEN department_id IS NOT NULL THEN department_id
                            ELSE (%(adult_departments)s::int[])[1 + id %% {len(adult_departments)}]
                       END AS home
                FROM patients
                WHERE created_at < %(now)s - interval '7 days'
            ) p
            JOIN dept_n n ON n.department_id = p.home
            JOIN dept_docs dd
                ON dd.department_id = p.home AND dd.idx = 1 + (p.id::bigint * 7919) %% n.n
            """,
            {
                "spread": max(mean - 0.5, 0.0),
                "child_born_after": clock.child_born_after,
                "first": params["first"],
                "tz": clock.tz.key,
                "adult_departments": adult_departments,
                "now": clock.now,
            },
        )
        cur.execute("ANALYZE doc_slots, doc_n, doc_day, pp")
        lead = (
            "CASE WHEN r_lead < 1.0 / 3 THEN interval '1 hour' * (2 + r_lead2 * 46) "
            "WHEN r_lead < 2.0 / 3 THEN interval '1 hour' * (48 + r_lead2 * 288) "
            "ELSE interval '1 hour' * (336 + r_lead2 * 1104) END"
        )
        minutes = _cumulative("r_length", shapes.VISIT_MINUTES, cast="int")
        # the shares of completed and cancelled visits, as _cumulative draws them
        completed, cancelled = (weight / 100 for _, weight in shapes.PAST_STATUSES[:2])
        cur.execute(
            f"""
            INSERT INTO appointments (patient_id, doctor_id, department_id, start_time,
                end_time, status, reason, notes, cancellation_reason, created_by, created_at,
                updated_at, archived_at)
            SELECT patient_id, doctor_id, department_id, start_time, end_time, status, reason,
                notes, cancellation_reason, {USERS["receptionist"]}, created_at,
                CASE status
                    WHEN 'completed' THEN end_time + r_update * interval '25 minutes'
                    WHEN 'no_show' THEN start_time + interval '15 minutes'
                                        + r_update * interval '30 minutes'
                    ELSE created_at + (start_time - created_at) * (0.2 + 0.78 * r_update)
                END,
                NULL
            FROM (
                SELECT a.patient_id, s.doctor_id, s.department_id, s.slot_start AS start_time,
                    LEAST(s.period_end, s.slot_start + make_interval(
                        mins => s.slot_minutes * ceil(({minutes})::numeric / s.slot_minutes)::int
                    )) AS end_time,
                    {_cumulative("r_status", shapes.PAST_STATUSES)} AS status,
                    CASE WHEN a.doctor_id = a.usual_doctor AND r_follow < 0.5 THEN 'Follow-up'
                         ELSE ((%(reasons)s::name[])[s.department_id][
                             1 + floor(r_reason * {len(reasons[0])})::int])::text
                    END AS reason,
                    CASE WHEN r_notes < 0.1
                         THEN {_pick("notes", len(shapes.NOTES), "r_notes * 10")} END AS notes,
                    CASE WHEN r_status >= {completed} AND r_status < {completed + cancelled}
                         THEN {_pick("cancellations", len(shapes.CANCELLATION_REASONS), "r_cancel")}
                    END AS cancellation_reason,
                    LEAST(s.slot_start - interval '30 minutes',
                          GREATEST(a.registered + interval '1 hour', s.slot_start - ({lead})))
                        AS created_at,
                    r_update
                FROM (
                    SELECT a.*, d.first_rn + floor((n.n - d.first_rn + 1) * a.u)::int AS rn
                    FROM (
                        SELECT r.*,
                            CASE WHEN r_doctor < {shapes.USUAL_DOCTOR} THEN usual_doctor
                                 WHEN child THEN (%(child_doctors)s::int[])[
                                     1 + floor(r_doctor2 * {len(child_doctors)})::int]
                                 ELSE (%(adult_doctors)s::int[])[
                                     1 + floor(r_doctor2 * {len(adult_doctors)})::int]
                            END AS doctor_id
                        FROM (
                            SELECT pp.id AS patient_id, pp.registered, pp.first_day, pp.child,
                                pp.usual_doctor, random() AS r_doctor, random() AS r_doctor2,
                                random() AS u, random() AS r_length, random() AS r_status,
                                random() AS r_reason, random() AS r_follow, random() AS r_notes,
                                random() AS r_cancel, random() AS r_lead, random() AS r_lead2,
                                random() AS r_update
                            FROM pp CROSS JOIN LATERAL generate_series(1, pp.k) AS k(n)
                            OFFSET 0
                        ) r
                    ) a
                    JOIN doc_n n ON n.doctor_id = a.doctor_id
                    JOIN doc_day d ON d.doctor_id = a.doctor_id AND d.day = a.first_day
                ) a
                JOIN doc_slots s ON s.doctor_id = a.doctor_id AND s.rn = a.rn
            ) x
            """,
            {
                "reasons": reasons,
                "notes": list(shapes.NOTES),
                "cancellations": list(shapes.CANCELLATION_REASONS),
                "child_doctors": child_doctors,
                "adult_doctors": adult_doctors,
            },
        )
        cur.execute(
            "DROP TABLE doc_periods, doc_offsets, doc_slots, doc_n, doc_day, dept_docs, dept_n, pp"
        )


def insert_future(conn: psycopg.Connection, rows: list[dict]) -> None:
    rng = random.Random(SEED + 1)
    reasons = {i: plan.reasons for i, plan in enumerate(shapes.DEPARTMENTS, start=1)}
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY appointments (patient_id, doctor_id, department_id, start_time, end_time, "
            "status, reason, notes, cancellation_reason, created_by, created_at, updated_at) "
            "FROM STDIN"
        ) as copy,
    ):
        for row in sorted(rows, key=lambda row: row["created_at"]):
            copy.write_row(
                (
                    row["patient_id"],
                    row["doctor_id"],
                    row["department_id"],
                    row["start_time"],
                    row["end_time"],
                    row["status"],
                    rng.choice(reasons[row["department_id"]]),
                    rng.choice(shapes.NOTES) if rng.random() < 0.1 else None,
                    row["cancellation_reason"],
                    USERS["receptionist"],
                    row["created_at"],
                    row["updated_at"],
                )
            )


def archives(conn: psycopg.Connection, clock: Clock) -> int:
    """An archived patient was archived after their last visit (their archive date was
    drawn before their visits were)."""
    with conn.cursor() as cur:
        cur.execute(
            """
            UPDATE patients p
            SET archived_at = LEAST(%(now)s, f.last_end + interval '1 day')
            FROM (
                SELECT patient_id, max(end_time) AS last_end FROM appointments
                WHERE patient_id IN (SELECT id FROM patients WHERE archived_at IS NOT NULL)
                GROUP BY patient_id
            ) f
            WHERE f.patient_id = p.id AND p.archived_at < f.last_end
            """,
            {"now": clock.now},
        )
        return cur.rowcount


def history(conn: psycopg.Connection) -> None:
    """Each appointment's events: the booking, a check-in before a completed visit, and
    the final status (completions by the doctor's login, or the admin's, as in the demo)."""
    insert = (
        "INSERT INTO appointment_events (appointment_id, status, start_time, end_time, "
        "reason, changed_by, changed_at) "
    )
    reception = USERS["receptionist"]
    with conn.cursor() as cur:
        cur.execute(
            insert + f"SELECT id, 'scheduled', start_time, end_time, NULL, {reception}, "
            "created_at FROM appointments"
        )
        cur.execute(
            insert + f"SELECT id, 'checked_in', start_time, end_time, NULL, {reception}, "
            "GREATEST(created_at, start_time - (1 + id % 19) * interval '1 minute') "
            "FROM appointments WHERE status = 'completed'"
        )
        cur.execute(
            insert
            + f"""
            SELECT id, status, start_time, end_time, cancellation_reason,
                CASE WHEN status <> 'completed' THEN {reception}
                     WHEN doctor_id = {shapes.BENCH_DOCTOR_ID} THEN {USERS["doctor"]}
                     ELSE {USERS["admin"]} END,
                updated_at
            FROM appointments WHERE status IN ('completed', 'cancelled', 'no_show')
            """
        )


def records(conn: psycopg.Connection, clock: Clock) -> None:
    """A medical record for a share of the completed visits."""
    diagnoses = _rectangular([plan.diagnoses for plan in shapes.DEPARTMENTS])
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.7)")
        cur.execute(
            f"""
            INSERT INTO medical_records (patient_id, doctor_id, appointment_id, record_date,
                diagnosis, treatment, notes, created_by, created_at, updated_at)
            SELECT patient_id, doctor_id, id, (start_time AT TIME ZONE %(tz)s)::date,
                ((%(diagnoses)s::name[])[department_id][
                    1 + floor(random() * {len(diagnoses[0])})::int])::text,
                CASE WHEN random() < 0.8
                     THEN {_pick("treatments", len(shapes.TREATMENTS), "random()")} END,
                CASE WHEN random() < 0.3
                     THEN {_pick("record_notes", len(shapes.RECORD_NOTES), "random()")} END,
                CASE WHEN doctor_id = {shapes.BENCH_DOCTOR_ID} THEN {USERS["doctor"]}
                     ELSE {USERS["admin"]} END,
                updated_at + interval '5 minutes', updated_at + interval '5 minutes'
            FROM appointments
            WHERE status = 'completed' AND random() < {shapes.RECORDED}
            """,
            {
                "tz": clock.tz.key,
                "diagnoses": diagnoses,
                "treatments": list(shapes.TREATMENTS),
                "record_notes": list(shapes.RECORD_NOTES),
            },
        )


def audit(conn: psycopg.Connection, clock: Clock) -> None:
    """The trail the app would have written: each registration, booking and record, and
    reads of about half the patients; the patient with a login has a long access log."""
    ip = "'10.20.' || ({id} %% 250) || '.' || (1 + ({id} / 250) %% 250)"
    event = (
        "INSERT INTO audit_events (occurred_at, actor_id, actor_role, action, resource_type, "
        "resource_id, patient_id, outcome, ip, request_id) "
    )
    roles = {
        USERS["receptionist"]: "receptionist",
        USERS["doctor"]: "doctor",
        USERS["admin"]: "admin",
    }
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.9)")
        cur.execute(
            event
            + f"""
            SELECT created_at, {USERS["receptionist"]}, 'receptionist', 'create', 'patient', id, id,
                'success', {ip.format(id="id")}, md5('p' || id)
            FROM patients
            UNION ALL
            SELECT created_at, {USERS["receptionist"]}, 'receptionist', 'create', 'appointment',
                id, patient_id, 'success', {ip.format(id="id")}, md5('a' || id)
            FROM appointments
            UNION ALL
            SELECT created_at, created_by,
                CASE created_by WHEN {USERS["doctor"]} THEN 'doctor' ELSE 'admin' END,
                'create', 'record', id, patient_id, 'success', {ip.format(id="id")},
                md5('r' || id)
            FROM medical_records
            UNION ALL
            SELECT created_at + (%(now)s - created_at) * random(), {USERS["receptionist"]},
                'receptionist', 'read', 'patient', id, id, 'success', {ip.format(id="id")},
                md5('v' || id)
            FROM patients WHERE random() < 0.5
            """,
            {"now": clock.now},
        )
        actors = list(roles)
        cur.execute(
            event
            + f"""
            SELECT %(now)s - g * interval '2 days' - random() * interval '1 day',
                (%(actors)s::int[])[1 + g %% 3], (%(roles)s::text[])[1 + g %% 3],
                'read', 'patient', {shapes.BENCH_PATIENT_ID}, {shapes.BENCH_PATIENT_ID},
                'success', {ip.format(id="g")}, md5('b' || g)
            FROM generate_series(1, 300) AS g
            """,
            {"now": clock.now, "actors": actors, "roles": [roles[a] for a in actors]},
        )


def _rectangular(lists: list[tuple[str, ...]]) -> list[list[str]]:
    """Lists of words made the same length (by repeating their words) for a 2-D array."""
    width = max(len(words) for words in lists)
    return [[words[i % len(words)] for i in range(width)] for words in lists]
