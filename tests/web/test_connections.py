"""Silent and trickling clients against a real uvicorn on loopback: the server closes
them (head and body deadlines), sheds the oldest when connections reach the cap, and
``/healthz`` answers all along."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from pyworkflow.web import create_app
from pyworkflow.web.connections import default_max_connections
from pyworkflow.web.server import bind, config
from tests._workers import wait_for


@contextmanager
def served(**limits: Any) -> Iterator[tuple[str, int]]:
    """The app under uvicorn on a thread, on a free loopback port, with these limits."""
    sock = bind("127.0.0.1", 0)
    address = sock.getsockname()[:2]
    server = uvicorn.Server(config(create_app(dashboard=False), **limits))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10, message="uvicorn to start")
        yield address
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def healthz(address: tuple[str, int]) -> dict[str, Any]:
    conn = http.client.HTTPConnection(*address, timeout=5)
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        body: dict[str, Any] = json.loads(resp.read())
        return body
    finally:
        conn.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (EOF or reset), without waiting."""
    sock.setblocking(False)
    try:
        return sock.recv(1024) == b"" or closed_by_server(sock)
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def connect_many(address: tuple[str, int], count: int,
                 first: Callable[[socket.socket], None] | None = None) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        if first:
            first(sock)
        socks.append(sock)
    return socks


def test_silent_and_trickling_clients_are_closed_while_healthz_answers() -> None:
    with served(head_s=1.0, body_s=1.0) as address:
        silent = connect_many(address, 50)
        partial = connect_many(address, 10, lambda s: s.sendall(b"GET /healthz HTTP/1.1\r\nHo"))
        no_body = connect_many(address, 5, lambda s: s.sendall(
            b"POST /hooks/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"))
        socks = silent + partial + no_body
        try:
            assert healthz(address) == {"ok": True}
            wait_for(lambda: all(closed_by_server(s) for s in socks), 15,
                     message="the server to close every silent connection")
            assert healthz(address) == {"ok": True}
        finally:
            for sock in socks:
                sock.close()


def test_a_request_in_time_is_answered_on_a_kept_alive_connection() -> None:
    with served(head_s=1.0) as address:
        conn = http.client.HTTPConnection(*address, timeout=5)
        try:
            for _ in range(3):
                conn.request("GET", "/healthz")
                assert conn.getresponse().read() == b'{"ok":true}'
        finally:
            conn.close()


def test_at_the_cap_the_oldest_silent_connection_makes_room() -> None:
    with served(head_s=60.0, max_connections=20) as address:
        silent = connect_many(address, 50)
        try:
            assert healthz(address) == {"ok": True}
            shed = wait_for(lambda: sum(closed_by_server(s) for s in silent) >= 31, 15,
                            message="the connections over the cap to be closed")
            assert shed
            assert not any(closed_by_server(s) for s in silent[-19:])  # the newest stay
        finally:
            for sock in silent:
                sock.close()


def test_the_default_cap_stays_under_the_descriptor_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert default_max_connections() <= max(16, soft - 64)
