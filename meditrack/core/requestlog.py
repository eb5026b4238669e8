"""One JSON line per request, and JSON for every other log line of the app.

The request line names the route pattern (`/patients/<int:patient_id>`), never the path
with its query string, and no header or body: search terms, tokens and passwords stay
out of the log. The user is named by id.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from flask.logging import default_handler

log = logging.getLogger("meditrack.request")

#: Attributes every LogRecord has; anything else was passed in `extra` and is logged.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str) -> None:
    """Send the app's logs to stderr as JSON lines, once per process."""
    logger = logging.getLogger("meditrack")  # also Flask's app.logger
    logger.setLevel(level)
    logger.removeHandler(default_handler)
    if not any(getattr(handler, "meditrack", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.meditrack = True
        logger.addHandler(handler)
    logger.propagate = False


def _start() -> None:
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("started")
    actor = g.get("actor")
    rule = request.url_rule
    log.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "user_id": actor.user_id if actor else None,
            "method": request.method,
            "route": rule.rule if rule else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "ip": request.remote_addr,
        },
    )
    return response


def register(app: Flask) -> None:
    """First in, last out: the line is written after every other hook has had its say."""
    configure(app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start)
    app.after_request(_finish)
