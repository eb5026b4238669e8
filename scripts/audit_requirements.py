"""Check every pinned requirement against the published vulnerability advisories.

Runs pip-audit over requirements.txt and requirements-dev.txt (exact pins, so nothing is
resolved or installed). A known vulnerability fails the check. A package the advisory
service could not be asked about (no network, service down) is reported loudly; with
AUDIT_STRICT=1 that fails the check too, for machines that are expected to reach it.

    .venv/bin/python scripts/audit_requirements.py

(bandit: subprocess runs pip-audit with a command line fixed here, never user input.)
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")


def main() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    for name in REQUIREMENTS:
        command += ["-r", str(ROOT / name)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(result.stdout + result.stderr, file=sys.stderr)
        print("pip-audit failed to run", file=sys.stderr)
        return 2

    vulnerable = [dep for dep in report["dependencies"] if dep.get("vulns")]
    unchecked = [dep for dep in report["dependencies"] if "skip_reason" in dep]
    checked = len(report["dependencies"]) - len(unchecked)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    print(f"pip-audit: {checked} pinned packages checked, {len(vulnerable)} vulnerable.")
    if unchecked:
        print(
            f"WARNING: {len(unchecked)} packages could not be checked, e.g. "
            f"{unchecked[0]['skip_reason']!r}. The advisory service was not reachable from "
            "this machine; run `make lint` where https://pypi.org/pypi/<name>/<version>/json "
            "answers before a release.",
            file=sys.stderr,
        )
        if os.environ.get("AUDIT_STRICT") == "1":
            return 1
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
