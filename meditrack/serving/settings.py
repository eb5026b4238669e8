"""gunicorn's settings for MediTrack, all in one place.

    gunicorn --config python:meditrack.serving.settings wsgi:app

is what `make run` starts. gunicorn reads every lower-case name below that is one of its
settings; the upper-case names are MediTrack's own, read by the worker (worker.py).
Command-line options still win over these.
"""

from __future__ import annotations

import os

#: Where to listen, as the Makefile has it (HOST and PORT from the environment).
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"


def _processes() -> int:
    """One worker process per core, when the sign-in counters are shared (Redis). With
    `memory://` each process would count failed sign-ins on its own, multiplying the
    limits, so it is one process. WEB_CONCURRENCY, when set, decides."""
    if os.environ.get("WEB_CONCURRENCY"):
        return int(os.environ["WEB_CONCURRENCY"])
    if os.environ.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://"):
        return 1
    return max(1, len(os.sched_getaffinity(0)))


#: gunicorn's threaded worker, except that a request's head (and a small body) is read
#: by the worker's event loop before a thread is given to it: a slow client holds a
#: socket, never a thread.
worker_class = "meditrack.serving.worker.HeadFirstWorker"
workers = _processes()
#: Requests served at once by each process.
threads = 8
#: Open connections per process, slow ones included; past it, new ones wait in the
#: listen queue.
worker_connections = 1000
#: How long an idle kept-alive connection stays open, in seconds.
keepalive = 5
#: A worker that stops reporting for this long is killed and replaced.
timeout = 30
#: How long SIGTERM waits for requests in flight.
graceful_timeout = 30

#: Seconds a client has to send a request's head (request line and headers) once it has
#: started, or, for a new connection, once it is accepted: past it, a 408.
HEAD_TIMEOUT_SECONDS = float(os.environ.get("MEDITRACK_HEAD_TIMEOUT_SECONDS", "10"))
#: Seconds a client has to send a body the worker reads before the app sees it.
BODY_TIMEOUT_SECONDS = float(os.environ.get("MEDITRACK_BODY_TIMEOUT_SECONDS", "30"))
#: Seconds a thread waits on a client that neither reads the answer nor sends the rest
#: of a body read by the app (chunked): then the connection is dropped.
STALL_TIMEOUT_SECONDS = 30.0
#: The largest request head the worker reads. Above the app's own limits
#: (config.MAX_URL_BYTES, config.MAX_HEADER_BYTES), so that the app answers those 414s
#: and 431s; a head larger than this is refused by the worker, with the same problems.
HEAD_LIMIT_BYTES = 64 * 1024
#: Bodies up to this size (with a Content-Length) are read by the worker too: the app
#: refuses anything larger (413) without reading it.
BODY_BUFFER_BYTES = 1024 * 1024

# gunicorn parses what the worker has read. Its own limits sit at or above the worker's,
# so that it never refuses what the app could answer; anything it still refuses (a bad
# request line, a NUL byte in a header, more than 100 headers) is answered by the worker
# as problem+json.
limit_request_line = 0  # no limit of its own: HEAD_LIMIT_BYTES bounds the whole head
limit_request_field_size = HEAD_LIMIT_BYTES
limit_request_fields = 100

# gunicorn trusts no forwarded header. Its defaults believe X-Forwarded-Proto (and
# SCRIPT_NAME) from 127.0.0.1, so any local process, or a proxy that passes the client's
# headers on, could make a request look like HTTPS. Which proxies to believe is the app's
# TRUSTED_PROXIES setting (meditrack/core/transport.py), and nothing else.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
