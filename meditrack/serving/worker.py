"""gunicorn's threaded worker, with each request read by the event loop before a thread.

gunicorn's gthread worker gives a connection to a thread once its first byte arrives,
and the thread then reads the request line and headers itself, blocking: clients that
send a byte a second hold a thread each, and with 8 threads a handful of them stall
every other request, /health included. Here the worker's event loop reads the head (and
a small body with a Content-Length) without blocking, under a deadline, and a thread gets
the connection only with the whole request in memory, which gunicorn then parses. A
client that is too slow gets a 408, a head too large a 414 or 431, and whatever gunicorn
refuses to parse (a bad request line, a NUL byte in a header) a problem+json like every
answer of the app. Closing a connection (waiting for the client to read the answer) is
done by the event loop too, never by blocking it.

TLS is the proxy's job (README, "In production"); with gunicorn's own TLS configured,
requests are read by the threads as gthread reads them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import socket
import time
import uuid
from functools import partial
from http import HTTPStatus
from typing import NamedTuple

from gunicorn import util
from gunicorn.http import errors as parse_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

from meditrack.core.errors import HTTP_CODES, PROBLEM_JSON, problem_body
from meditrack.core.transport import API_POLICY
from meditrack.serving import settings

READ_CHUNK = 64 * 1024
END_OF_HEAD = b"\r\n\r\n"
#: After a connection's last answer, how long the client may take to read it and close:
#: closing while its bytes are still unread would reset the connection and lose the answer.
LINGER_SECONDS = 2.0


class Refusal(NamedTuple):
    status: int
    detail: str


def _too_large(data: bytes) -> Refusal:
    if b"\r\n" not in data[: settings.HEAD_LIMIT_BYTES]:
        return Refusal(414, f"The request line is longer than {settings.HEAD_LIMIT_BYTES} bytes.")
    return Refusal(431, f"The request head is larger than {settings.HEAD_LIMIT_BYTES} bytes.")


def _body_to_read(head: bytes) -> int:
    """The body bytes read with the head: a body framed by one Content-Length, up to
    BODY_BUFFER_BYTES. Anything else (chunked, larger, a client waiting for 100 Continue,
    a length gunicorn will refuse) goes to the thread as it stands."""
    lengths = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            return 0
        if name == b"content-length":
            lengths.append(value.strip())
    if len(lengths) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 9:
        return 0
    size = int(lengths[0])
    return size if size <= settings.BODY_BUFFER_BYTES else 0


def request_size(data: bytes) -> int | Refusal | None:
    """How many bytes of `data` make the next request (its head, and the body read with
    it); None while the head is incomplete; a Refusal for a head that cannot be read."""
    end = data.find(END_OF_HEAD)
    if end < 0:
        if data.count(b"\n") != data.count(b"\r\n"):
            return Refusal(400, "Every line of the request head must end with CRLF.")
        return _too_large(data) if len(data) > settings.HEAD_LIMIT_BYTES else None
    head_size = end + len(END_OF_HEAD)
    if head_size > settings.HEAD_LIMIT_BYTES:
        return _too_large(data)
    return head_size + _body_to_read(data[:end])


def answer(status: int, detail: str) -> bytes:
    """A whole HTTP response: the problem+json the app would give, and Connection: close."""
    code = HTTP_CODES.get(status, "bad_request")
    body = json.dumps(problem_body(status, code, detail), separators=(",", ":"))
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Security-Policy: {API_POLICY}\r\n"
        f"X-Request-ID: {uuid.uuid4().hex}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body.encode("ascii")


#: What gunicorn's parser may refuse, most specific first; any other refusal is a 400.
PARSE_REFUSALS: tuple[tuple[type[Exception], Refusal], ...] = (
    (parse_errors.LimitRequestLine, Refusal(414, "The request line is too long.")),
    (parse_errors.LimitRequestHeaders, Refusal(431, "The request has too many headers.")),
    (parse_errors.UnsupportedTransferCoding, Refusal(501, "The transfer coding is unknown.")),
    (parse_errors.ExpectationFailed, Refusal(417, "Only 100-continue can be expected.")),
    (parse_errors.InvalidRequestLine, Refusal(400, "The request line is not valid HTTP.")),
    (parse_errors.InvalidRequestMethod, Refusal(400, "The request method is not valid.")),
    (parse_errors.InvalidHTTPVersion, Refusal(400, "The HTTP version is not supported.")),
    (parse_errors.InvalidHeaderName, Refusal(400, "A header name is not valid.")),
    (
        parse_errors.InvalidHeader,
        Refusal(400, "A header is not valid (a NUL byte, a control character, bad framing)."),
    ),
)
#: The app's fault or the server's, not the client's.
SERVER_FAULTS = (
    parse_errors.InvalidResponseHeader,
    parse_errors.InvalidResponseHeaderName,
    parse_errors.ConfigurationProblem,
)


def refusal_for(error: BaseException) -> Refusal | None:
    """The answer to a request gunicorn could not parse; None when it is a server fault."""
    if isinstance(error, SERVER_FAULTS) or not isinstance(error, parse_errors.ParseException):
        return None
    for kind, refusal in PARSE_REFUSALS:
        if isinstance(error, kind):
            return refusal
    return Refusal(400, "The request is not valid HTTP.")


def _receive(conn) -> bytes | None:
    """What a readable socket holds: None when nothing after all, b"" when the client has
    gone (closed, or a socket error)."""
    try:
        return conn.sock.recv(READ_CHUNK)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


class Connection(TConn):
    """A client connection, with what the event loop has read of its next request."""

    def __init__(self, cfg, sock, client, server, *, linger):
        super().__init__(cfg, sock, client, server)
        self.linger = linger
        self.buffer = bytearray()
        self.size = 0  # of the request once its head is complete (head and body)
        self.deadline = 0.0
        self.request_bytes: bytes | None = None  # a whole request, for a thread to parse

    def close(self, graceful=False):
        if graceful:
            self.linger(self)  # gthread would wait for the client here, blocking its loop
        else:
            super().close()


class HeadFirstWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: set[Connection] = set()
        self.lingering: set[Connection] = set()

    # --- the event loop ---------------------------------------------------------------

    def accept(self, listener):
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        connection = Connection(self.cfg, sock, client, listener.getsockname(), linger=self._linger)
        self.enqueue_req(connection)

    def enqueue_req(self, conn):
        """Every way to a thread passes here (a new, a kept-alive and a pipelined request):
        a thread gets a connection only with its whole request read."""
        if conn.request_bytes is not None or self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        conn.sock.setblocking(False)
        conn.buffer = bytearray(conn.parser.unreader.take_buffered() if conn.parser else b"")
        conn.size = 0
        conn.deadline = time.monotonic() + settings.HEAD_TIMEOUT_SECONDS
        if self._progress(conn):
            self.reading.add(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read, conn))

    def _read(self, conn, _sock):
        chunk = _receive(conn)
        if chunk is None:
            return
        if not chunk:  # the client has gone
            self._stop_reading(conn)
            self._close(conn)
            return
        conn.buffer += chunk
        self._progress(conn)

    def _progress(self, conn) -> bool:
        """Hand the request over, refuse it, or say (True) that more is to be read."""
        if not conn.size:
            size = request_size(bytes(conn.buffer))
            if size is None:
                return True
            if isinstance(size, Refusal):
                self._refuse(conn, size)
                return False
            conn.size = size
            if len(conn.buffer) < size:  # the body follows, in its own time
                conn.deadline = time.monotonic() + settings.BODY_TIMEOUT_SECONDS
        if len(conn.buffer) < conn.size:
            return True
        self._stop_reading(conn)
        conn.request_bytes, conn.buffer = bytes(conn.buffer), bytearray()
        conn.data_ready = True
        super().enqueue_req(conn)
        return False

    def _stop_reading(self, conn) -> None:
        if conn in self.reading:
            self.reading.discard(conn)
            self.poller.unregister(conn.sock)

    def _refuse(self, conn, refusal: Refusal) -> None:
        self._stop_reading(conn)
        self.log.warning(
            "Refused request from ip=%s: %s %s", conn.client[0], refusal.status, refusal.detail
        )
        with contextlib.suppress(OSError):  # a client that has gone needs no answer
            conn.sock.send(answer(*refusal))
        self.nr_conns -= 1
        self._linger(conn)

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        util.close(conn.sock)

    def _linger(self, conn) -> None:
        """Close once the client has read the answer and closed too, or after
        LINGER_SECONDS; meanwhile whatever it still sends is read and dropped."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            util.close(conn.sock)
            return
        conn.deadline = time.monotonic() + LINGER_SECONDS
        self.lingering.add(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))

    def _drain(self, conn, _sock):
        if _receive(conn) == b"":
            self._end_linger(conn)

    def _end_linger(self, conn) -> None:
        self.lingering.discard(conn)
        self.poller.unregister(conn.sock)
        util.close(conn.sock)

    def murder_pending(self):
        """Run by gthread's loop about once a second, and while it stops: also end the
        reads and lingers whose time is up."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [conn for conn in self.reading if conn.deadline <= now]:
            if conn.buffer:
                self._refuse(conn, Refusal(408, "The request was not sent in time."))
            else:  # nothing sent: nothing to answer
                self._stop_reading(conn)
                self._close(conn)
        for conn in [conn for conn in self.lingering if conn.deadline <= now]:
            self._end_linger(conn)

    # --- a thread ---------------------------------------------------------------------

    def handle(self, conn):
        data, conn.request_bytes = conn.request_bytes, None
        if data is not None:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(data)
        return super().handle(conn)

    def handle_request(self, req, conn):
        # gthread's socket has no timeout: a client that stops reading the answer (or a
        # chunked body it sends) would hold this thread for good.
        conn.sock.settimeout(settings.STALL_TIMEOUT_SECONDS)
        return super().handle_request(req, conn)

    def handle_error(self, req, client, addr, exc):
        """What gunicorn itself answers (it writes an HTML page), as problem+json."""
        refusal = refusal_for(exc)
        if refusal is None:
            self.log.exception("Error handling request")
            refusal = Refusal(500, "Something went wrong on our side.")
        else:
            ip = addr[0] if addr else ""
            self.log.warning("Invalid request from ip=%s: %s", ip, type(exc).__name__)
        try:
            util.write_nonblock(client, answer(*refusal))
        except OSError:
            self.log.debug("Failed to send error message.")
