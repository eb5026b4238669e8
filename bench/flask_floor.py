"""The Flask floor: the floor's work (bench/floor.py) as a bare Flask view.

The same connection per worker thread, the same SELECT, the same JSON; only Flask's
request handling (routing, the request and app contexts, the response object, JSON
encoding) is added. No authentication, no ORM, no transaction, no audit event. Measured
beside the floor in the same run, it shows how much of the floor any Flask app gives up
before doing anything of its own:

    BENCH_FLOOR_DSN=postgresql://postgres@127.0.0.1/meditrack_bench_10000 \\
        .venv/bin/gunicorn --workers 2 bench.flask_floor:app
"""

from __future__ import annotations

from flask import Flask, abort, jsonify

from bench.floor import QUERY, _connection, _patient

app = Flask(__name__)


@app.get("/patients/<int:patient_id>")
def patient(patient_id: int):
    row = _connection().execute(QUERY, (patient_id,)).fetchone()
    if row is None:
        abort(404)
    return jsonify(_patient(row))
