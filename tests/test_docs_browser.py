"""The interactive docs render in a real browser under their Content-Security-Policy.

Needs Chromium (Debian: `apt-get install chromium`). Skipped where it is not installed,
except under CI=true, where a missing browser is a failure (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI=true: the browser tests must run", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.sqlite_only
def test_swagger_ui_renders_every_operation_under_the_policy(chromium, served, tmp_path):
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{served}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    dom = result.stdout
    assert "Content Security Policy" not in result.stderr, result.stderr
    # Swagger UI ran its bundled script, fetched /openapi.json and drew the operations.
    assert 'data-path="/patients/{patient_id}"' in dom, result.stderr[-2000:]
    assert dom.count("opblock-summary-path") > 40
