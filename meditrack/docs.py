"""Interactive API docs served from a bundled Swagger UI: no CDN, works offline."""

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, send_from_directory

from meditrack.core.security import PUBLIC_ENDPOINTS

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>MediTrack API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset.slice(1)],
  layout: "BaseLayout"
});
"""

bp = Blueprint("docs", __name__)
PUBLIC_ENDPOINTS.update({"docs.swagger_ui", "docs.asset", "docs.init"})


@bp.get("/docs")
def swagger_ui():
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/docs/init.js")
def init():
    return INIT, 200, {"Content-Type": "text/javascript; charset=utf-8"}


@bp.get("/docs/assets/<path:filename>")
def asset(filename):
    return send_from_directory(ASSETS, filename, max_age=86400)
