"""uvicorn's h11 protocol with deadlines and a cap: a silent client cannot hold a socket.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but has no
deadline for a request that has not arrived: a client that connects and sends
nothing, or trickles its headers a byte at a time, keeps its socket forever. A few
hundred of them use up the process's file descriptors; ``accept()`` then fails in a
loop ("out of system resource") and ``/healthz`` stops answering. Hence, per
connection:

* **Head deadline.** A request's head (request line and headers) must be complete
  within :data:`HEAD_S` seconds of the connection opening, or of the previous
  answer on a kept-alive connection; else the connection is closed.
* **Body deadline.** Once the head is in, the body must be complete within
  :data:`BODY_S` seconds (a hook's payload is at most a megabyte).
* **Connection cap.** At most ``max_connections`` connections are open (by default
  :func:`default_max_connections`, below the process's file-descriptor limit). A
  connection over the cap first makes room by closing the connection that has been
  waiting longest for a request (silent, trickling or idle); only when every open
  one is mid-request is the newcomer turned away, with a bare 503. A flood of
  silent sockets therefore never locks out a real request such as ``/healthz``.

uvicorn's own ``limit_concurrency`` is not used: it counts open connections, silent
ones included, and answers 503 to every request past it, which would make the same
flood refuse ``/healthz`` instead of dropping the silent sockets. The subclass
relies on the h11 connection state (``self.conn.their_state``) that ``H11Protocol``
keeps; uvicorn is pinned in the project's dependencies.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["BODY_S", "HEAD_S", "BoundedH11", "bounded_protocol", "default_max_connections"]

HEAD_S = 10.0
BODY_S = 30.0
#: The most connections served at once when the descriptor limit allows more.
MAX_CONNECTIONS = 1_000
#: Descriptors kept for everything but client sockets (Redis pool, thread pool, logs).
FD_RESERVE = 96

_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def default_max_connections() -> int:
    """:data:`MAX_CONNECTIONS`, or fewer when the soft ``RLIMIT_NOFILE`` would run out
    first (at a 256 limit: 160)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - FD_RESERVE))


class BoundedH11(H11Protocol):
    """The protocol with the default limits; ``uvicorn --http
    pyworkflow.web.connections:BoundedH11`` gives them to an app served by uvicorn's own
    command (``--workers``), which does not go through :mod:`.server`."""

    head_s: ClassVar[float] = HEAD_S
    body_s: ClassVar[float] = BODY_S
    max_connections: ClassVar[int] = default_max_connections()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        #: When it started waiting for a request (monotonic); None while one is in.
        self.waiting_since: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._wait_for_head()
        if self._open_count() > self.max_connections and not self._make_room():
            transport.write(_BUSY)  # type: ignore[attr-defined]
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()

    # The deadlines ------------------------------------------------------------------
    def _follow_state(self) -> None:
        """Re-arm the deadline for the phase the h11 connection is now in."""
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:
            if self.waiting_since is None:
                self._wait_for_head()
        elif self.conn.their_state is h11.SEND_BODY:
            if self.waiting_since is not None or self._deadline is None:
                self.waiting_since = None
                self._arm(self.body_s)
        else:  # the request is in; the app answers in its own time
            self.waiting_since = None
            self._disarm()

    def _wait_for_head(self) -> None:
        self.waiting_since = time.monotonic()
        self._arm(self.head_s)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._close()

    def _close(self) -> None:
        self._disarm()
        self.waiting_since = None
        if not self.transport.is_closing():
            self.transport.close()

    # The cap ------------------------------------------------------------------------
    def _open_count(self) -> int:
        return sum(1 for c in self.connections
                   if not getattr(c, "transport", None) or not c.transport.is_closing())

    def _make_room(self) -> bool:
        """Close the connection waiting longest for a request; False if none is."""
        waiting = [c for c in self.connections
                   if isinstance(c, BoundedH11) and c is not self
                   and c.waiting_since is not None and not c.transport.is_closing()]
        if not waiting:
            return False
        min(waiting, key=lambda c: c.waiting_since or 0.0)._close()
        return True


def bounded_protocol(head_s: float = HEAD_S, body_s: float = BODY_S,
                     max_connections: int | None = None) -> type[BoundedH11]:
    """A :class:`BoundedH11` with these limits (uvicorn builds the protocol from a class)."""
    limits = {"head_s": head_s, "body_s": body_s,
              "max_connections": max_connections or default_max_connections()}
    return type("BoundedH11", (BoundedH11,), limits)
