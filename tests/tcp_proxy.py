"""A small TCP proxy that tests cut and restore, to play a database going away.

    proxy = TcpProxy(5432)        # listens on 127.0.0.1:proxy.port
    proxy.cut()                   # every live connection is closed both ways; new ones are
                                  # accepted and closed at once, so clients fail fast
    proxy.restore()               # new connections reach the server again
    proxy.black_hole()            # like cut(), but new connections are held open in
                                  # silence: a server that does not answer
    proxy.close()

Standard library only: one thread accepts, two threads per connection copy bytes.
"""

from __future__ import annotations

import contextlib
import socket
import threading

UP, DOWN, SILENT = "up", "down", "silent"


def _drop(sock: socket.socket) -> None:
    """Close now, both ways; a thread blocked in recv() on it wakes up."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._state = UP
        self._live: set[socket.socket] = set()
        self._closed = threading.Event()
        self.accepted = 0  # connections accepted while up, for tests that count reconnects
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    # --- what tests call -----------------------------------------------------------------

    def cut(self) -> None:
        """The database goes away: live connections die, new ones are refused."""
        self._go(DOWN)

    def black_hole(self) -> None:
        """The database stops answering: live connections die, new ones hang."""
        self._go(SILENT)

    def restore(self) -> None:
        """The database is back; connections held by black_hole() are closed."""
        self._go(UP)

    def close(self) -> None:
        self._closed.set()
        self._acceptor.join(timeout=2)
        _drop(self._listener)
        self._go(DOWN)

    @property
    def is_up(self) -> bool:
        return self._state == UP

    # --- inside ----------------------------------------------------------------------------

    def _go(self, state: str) -> None:
        with self._lock:
            self._state = state
            live, self._live = self._live, set()
        for sock in live:
            _drop(sock)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        with self._lock:
            state = self._state
            if state == SILENT:
                self._live.add(client)
                return
        if state == DOWN:
            _drop(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _drop(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._state != UP:  # cut while connecting
                _drop(client)
                _drop(upstream)
                return
            self._live.update((client, upstream))
            self.accepted += 1
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        with self._lock:
            self._live.discard(source)
            self._live.discard(sink)
        _drop(source)
        _drop(sink)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
