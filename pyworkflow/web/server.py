"""Serving the web app with uvicorn, as ``pyworkflow hooks serve`` does.

Why it is done this way:

* The socket is bound here, before uvicorn starts, so a port that is taken is one
  clear ``OSError`` for the CLI to print (uvicorn would log and exit by itself), and
  port 0 can be reported as the port it picked. The listen backlog is
  :data:`BACKLOG`: a burst of connections waits in the kernel's queue instead of
  being reset.
* Requests are coroutines on one event loop, so a client that trickles its headers
  holds no thread; uvicorn's header-size limit bounds what it can make us buffer,
  and the protocol of :mod:`.connections` bounds how long it may take (a request's
  head within :data:`~.connections.HEAD_S` seconds, its body within
  :data:`~.connections.BODY_S`) and how many connections are open at once, so
  silent sockets cannot use up the process's file descriptors.
* A host that does not resolve is one readable ``OSError`` too (``socket.gaierror``
  would print as "Unknown error -2").
* SIGTERM and Ctrl-C stop accepting at once, close idle and half-received
  connections, and give requests in flight at most :data:`GRACE_S` seconds to be
  answered (a delivery is a few milliseconds; the bound is for a stuck broker).
* uvicorn's access log (which prints the full path, hence the token) is off; the
  app logs each request itself, with the token cut. uvicorn's own messages go
  through the standard-library logging that ``actors.log`` routes.
"""

from __future__ import annotations

import logging
import signal
import socket
from typing import Any

import uvicorn

from .connections import BODY_S, HEAD_S, bounded_protocol

__all__ = ["BACKLOG", "GRACE_S", "bind", "config", "serve", "url_of"]

BACKLOG = 2048
GRACE_S = 10.0
#: Idle keep-alive connections are closed after this long.
KEEP_ALIVE_S = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (IPv6 when ``host`` has a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:  # looked up first: create_server would turn the lookup's error into errno -2
        socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"{host!r} is not an address, nor a host name this machine "
                      f"resolves ({exc.strerror})") from None
    return socket.create_server((host, port), family=family, backlog=BACKLOG)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"


def config(app: Any, *, head_s: float = HEAD_S, body_s: float = BODY_S,
           max_connections: int | None = None) -> uvicorn.Config:
    """uvicorn's settings for the app (see the module docstring for why each); the
    keywords change the connection limits (:mod:`.connections`), for tests."""
    protocol = bounded_protocol(head_s, body_s, max_connections)
    settings = uvicorn.Config(app, http=protocol, log_config=None, access_log=False,
                              server_header=False, date_header=True, backlog=BACKLOG,
                              lifespan="on",
                              timeout_keep_alive=int(KEEP_ALIVE_S),
                              timeout_graceful_shutdown=int(GRACE_S))
    # Off whatever handlers someone attaches later: its lines hold the full token.
    logging.getLogger("uvicorn.access").disabled = True
    return settings


def serve(app: Any, sock: socket.socket) -> int:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM; returns the signal (0 if none).

    uvicorn re-raises the signal that stopped it once it has restored the previous
    handlers; the handlers installed here record it instead, so the caller can say
    "stopped" and exit 0 as a supervised process should.
    """
    received: list[int] = []

    def record(signum: int, _frame: Any) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(config(app)).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return received[0] if received else 0
