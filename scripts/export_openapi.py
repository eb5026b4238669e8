"""Print the OpenAPI document the running app serves, for committing as docs/openapi.json.

python scripts/export_openapi.py > docs/openapi.json   (or: make openapi)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def render() -> str:
    os.environ.setdefault("JWT_SECRET_KEY", "only-used-to-render-the-openapi-document")
    from meditrack import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    spec = app.test_client().get("/openapi.json").get_json()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
