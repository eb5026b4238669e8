"""Patient lists at scale: the kept totals, deep pages, and search through one text.

The unfiltered list takes its X-Total-Count from `patient_totals`, a row the database's
triggers keep exact; these tests hold it against a real count after every kind of change,
on both databases, and under concurrent registrations on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from meditrack.core.pagination import search_in
from meditrack.extensions import db
from meditrack.patients.models import Patient, search_text
from tests.api_helpers import ids
from tests.test_booking_concurrency import fire, live_server  # noqa: F401 (a fixture)


def listed(client, account, **query):
    response = client.get("/patients", query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response


def totals(app) -> tuple[int, int] | None:
    with app.app_context():
        row = db.session.execute(text("SELECT total, active FROM patient_totals")).first()
        return None if row is None else (row.total, row.active)


def counted(app) -> tuple[int, int]:
    with app.app_context():
        return tuple(
            db.session.execute(
                text(
                    "SELECT count(*), count(CASE WHEN archived_at IS NULL THEN 1 END) FROM patients"
                )
            ).one()
        )


def test_totals_follow_every_change_and_answer_the_unfiltered_list(app, client, admin, factory):
    assert totals(app) == (0, 0)
    patients = [factory.patient() for _ in range(5)]
    assert totals(app) == counted(app) == (5, 5)

    archived = client.delete(f"/patients/{patients[0]['id']}", headers=admin.headers)
    assert archived.status_code == 204
    assert totals(app) == counted(app) == (5, 4)
    assert listed(client, admin).headers["X-Total-Count"] == "4"
    assert listed(client, admin, include_archived="true").headers["X-Total-Count"] == "5"

    edited = client.patch(
        f"/patients/{patients[1]['id']}", json={"phone": "555-0100"}, headers=admin.headers
    )
    assert edited.status_code == 200
    assert totals(app) == (5, 4)

    restored = client.post(f"/patients/{patients[0]['id']}/restore", headers=admin.headers)
    assert restored.status_code == 200
    assert totals(app) == counted(app) == (5, 5)
    assert listed(client, admin).headers["X-Total-Count"] == "5"


def test_the_unfiltered_total_is_the_kept_one(app, client, admin, factory):
    """Proved by making the kept row say something else: the list believes it."""
    factory.patient()
    with app.app_context():
        db.session.execute(text("UPDATE patient_totals SET total = 70, active = 42"))
        db.session.commit()
    response = listed(client, admin)
    assert response.headers["X-Total-Count"] == "42"
    assert 'rel="last"' in response.headers["Link"] and "page=3" in response.headers["Link"]
    # a filtered list still counts its rows
    assert listed(client, admin, gender="unknown").headers["X-Total-Count"] == "1"
    with app.app_context():  # put it right for the triggers that follow
        db.session.execute(text("UPDATE patient_totals SET total = 1, active = 1"))
        db.session.commit()


def test_without_the_kept_row_the_list_counts(app, client, admin, factory):
    for _ in range(3):
        factory.patient()
    with app.app_context():
        db.session.execute(text("DELETE FROM patient_totals"))
        db.session.commit()
    try:
        response = listed(client, admin)
        assert response.headers["X-Total-Count"] == "3"
        assert len(ids(response)) == 3
        factory.patient()  # the triggers find no row to change, and fail nothing
        assert listed(client, admin).headers["X-Total-Count"] == "4"
    finally:
        with app.app_context():
            db.session.execute(
                text(
                    "INSERT INTO patient_totals (id, total, active) SELECT 1, count(*), "
                    "count(CASE WHEN archived_at IS NULL THEN 1 END) FROM patients"
                )
            )
            db.session.commit()


def test_sql_written_outside_the_api_keeps_the_totals(app, factory):
    """Several rows in one statement, an archive and a delete, straight in SQL."""
    factory.patient()
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO patients (mrn, first_name, last_name, date_of_birth, gender, "
                "created_at, updated_at, archived_at) VALUES "
                "('9000000001', 'A', 'One', '1990-01-01', 'unknown', :now, :now, NULL), "
                "('9000000002', 'B', 'Two', '1990-01-01', 'unknown', :now, :now, NULL), "
                "('9000000003', 'C', 'Three', '1990-01-01', 'unknown', :now, :now, :now)"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
        db.session.commit()
        assert totals(app) == counted(app) == (4, 3)
        db.session.execute(
            text(
                "UPDATE patients SET archived_at = :now "
                "WHERE mrn IN ('9000000001', '9000000002', '9000000003')"
            ),
            {"now": "2026-01-02 00:00:00"},
        )
        db.session.commit()
        assert totals(app) == counted(app) == (4, 1)
        db.session.execute(text("DELETE FROM patients WHERE mrn = '9000000001'"))
        db.session.commit()
        assert totals(app) == counted(app) == (3, 1)


def test_a_rolled_back_registration_leaves_the_totals_alone(app, client, admin, factory):
    factory.patient()
    refused = client.post(
        "/patients",
        json={"first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01", "user_id": 999},
        headers=admin.headers,
    )
    assert refused.status_code == 422
    assert totals(app) == counted(app) == (1, 1)


def test_deep_pages_hold_every_patient_once_in_order(client, admin, factory):
    """Pages past the first find their ids first, then read those rows."""
    for n in range(23):
        factory.patient(last_name=f"Deep{n % 7}", date_of_birth=f"19{50 + n}-01-01")
    for sort in ("last_name", "-last_name", "date_of_birth", "-created_at"):
        first = listed(client, admin, sort=sort, per_page=100)
        expected = ids(first)
        pages = [ids(listed(client, admin, sort=sort, per_page=5, page=n)) for n in range(1, 6)]
        assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
        assert [id_ for page in pages for id_ in page] == expected
        assert len(set(expected)) == 23
    past_the_end = listed(client, admin, per_page=5, page=6)
    assert ids(past_the_end) == [] and past_the_end.headers["X-Total-Count"] == "23"


def test_search_never_matches_across_two_columns(client, admin, factory):
    ann = factory.patient(first_name="Ann", last_name="Lee", email="x/y@example.org")
    assert ids(listed(client, admin, q="ann lee")) == [ann["id"]]
    assert ids(listed(client, admin, q="annlee")) == []
    assert ids(listed(client, admin, q="ann  lee")) == [ann["id"]]
    assert ids(listed(client, admin, q="n l")) == [ann["id"]]  # each word alone
    assert ids(listed(client, admin, q="nlee")) == []
    assert ids(listed(client, admin, q="x/y")) == [ann["id"]]
    assert ids(listed(client, admin, q="x/")) == [ann["id"]]
    assert ids(listed(client, admin, q="x%y")) == []
    assert ids(listed(client, admin, q="   ")) == [ann["id"]]  # no words: no filter


def test_search_skips_archived_patients_and_pages_its_matches(client, admin, factory):
    found = [factory.patient(last_name=f"Garcia{n}") for n in range(7)]
    factory.patient(last_name="Other")
    client.delete(f"/patients/{found[0]['id']}", headers=admin.headers)
    page = listed(client, admin, q="garcia", per_page=4, page=2)
    assert page.headers["X-Total-Count"] == "6"
    assert ids(page) == [patient["id"] for patient in found[5:]]
    archived_too = listed(client, admin, q="garcia", include_archived="true")
    assert archived_too.headers["X-Total-Count"] == "7"


def test_a_doctor_searches_only_their_own_patients(client, factory, doctor_account):
    account, doctor = doctor_account
    mine = factory.patient(last_name="Mine")
    factory.patient(last_name="Mine")
    factory.appointment(doctor_id=doctor["id"], patient_id=mine["id"])
    response = listed(client, account, q="mine")
    assert ids(response) == [mine["id"]]
    assert response.headers["X-Total-Count"] == "1"
    assert listed(client, account).headers["X-Total-Count"] == "1"  # never the kept total


@pytest.mark.postgres_only
def test_postgres_serves_the_list_and_search_from_their_indexes(app):
    """The planner picks the indexes for the list's queries: proof that the queries'
    expressions and conditions are the indexes' own."""
    with app.app_context():
        connection = db.session.connection()
        connection.execute(
            text(
                "INSERT INTO patients (mrn, first_name, last_name, date_of_birth, gender, "
                "created_at, updated_at) SELECT lpad(n::text, 10, '0'), 'Pat', md5(n::text), "
                "'1990-01-01', 'unknown', now(), now() FROM generate_series(1, 5000) AS n"
            )
        )
        connection.execute(text("ANALYZE patients"))
        # Still small enough that reading it all would cost less than any index.
        connection.execute(text("SET LOCAL enable_seqscan = off"))

        def plan(statement) -> str:
            compiled = statement.compile(dialect=connection.dialect)
            rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
            return "\n".join(row[0] for row in rows)

        word = connection.execute(text("SELECT substr(md5('77'), 3, 8)")).scalar_one()
        search = select(Patient.id).where(
            Patient.archived_at.is_(None), *search_in(word, search_text())
        )
        assert "ix_patients_search" in plan(search)
        page = (
            select(Patient.id)
            .where(Patient.archived_at.is_(None))
            .order_by(Patient.last_name, Patient.id)
            .limit(20)
            .offset(400)
        )
        assert "Index Only Scan using ix_patients_active_last_name_id" in plan(page)
        db.session.rollback()


@pytest.mark.postgres_only
def test_concurrent_registrations_keep_the_totals_exact(app, live_server, admin):  # noqa: F811
    body = {"first_name": "Many", "last_name": "AtOnce", "date_of_birth": "1990-01-01"}
    answers = fire(live_server, [("POST", "/patients", body, admin.headers)] * 16)
    assert [status for status, _, _ in answers] == [201] * 16
    assert totals(app) == counted(app) == (16, 16)
