"""The floor: the least a Python WSGI app can do to answer GET /patients/<id>.

No Flask, no authentication, no audit event: one connection per worker thread, reused;
the same indexed SELECT the app runs for that route (the patient by primary key, its
department joined); the row as JSON. Served by gunicorn with the app's settings, it
shows what the app's own work costs on top of the server, the driver and the database:

    BENCH_FLOOR_DSN=postgresql://postgres@127.0.0.1/meditrack_bench_10000 \\
        .venv/bin/gunicorn --workers 2 bench.floor:app
"""

from __future__ import annotations

import json
import os
import re
import threading
from zoneinfo import ZoneInfo

import psycopg

QUERY = """
SELECT p.id, p.mrn, p.first_name, p.last_name, p.date_of_birth, p.gender, p.email, p.phone,
       p.address, p.department_id, d.id, d.name, p.blood_type, p.allergies,
       p.emergency_contact_name, p.emergency_contact_phone, p.user_id, p.created_at,
       p.updated_at
FROM patients p
LEFT OUTER JOIN departments d ON d.id = p.department_id
WHERE p.id = %s AND p.archived_at IS NULL
"""
PATH = re.compile(r"^/patients/(\d{1,9})$")
TZ = ZoneInfo(os.environ.get("MEDITRACK_TIMEZONE", "UTC"))
_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["BENCH_FLOOR_DSN"], autocommit=True)
    return conn


def _patient(row: tuple) -> dict:
    (id_, mrn, first, last, born, gender, email, phone, address, department_id,
     dept_id, dept_name, blood, allergies, contact, contact_phone, user_id, created,
     updated) = row  # fmt: skip
    return {
        "id": id_,
        "mrn": mrn,
        "first_name": first,
        "last_name": last,
        "date_of_birth": born.isoformat(),
        "gender": gender,
        "email": email,
        "phone": phone,
        "address": address,
        "department_id": department_id,
        "department": None if dept_id is None else {"id": dept_id, "name": dept_name},
        "blood_type": blood,
        "allergies": allergies,
        "emergency_contact_name": contact,
        "emergency_contact_phone": contact_phone,
        "user_id": user_id,
        "created_at": created.astimezone(TZ).isoformat(),
        "updated_at": updated.astimezone(TZ).isoformat(),
    }


def app(environ, start_response):
    match = PATH.match(environ.get("PATH_INFO", ""))
    row = None
    if match:
        row = _connection().execute(QUERY, (int(match.group(1)),)).fetchone()
    if row is None:
        status, body = "404 Not Found", b'{"status": 404}'
    else:
        status, body = "200 OK", json.dumps(_patient(row)).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
