"""A network partition: a worker in its own network namespace, cut off on demand.

The worker runs under ``unshare -rn`` (``unshare_prefix()``): a fresh network
namespace with nothing but its own loopback, so it cannot reach Redis or the broker
on any TCP address. Its only way out is a Unix socket (sockets in the file system
cross network namespaces), and each Unix socket is a ``Link`` in this process that
relays bytes to the real Redis. ``Link.cut()`` stops relaying in both directions
without closing anything: what the worker writes waits in the socket buffers, as it
waits in a kernel's retransmission queue while a cable is out; replies already on
their way wait too. ``Link.heal()`` delivers everything that waited, in order, then
relays again. So a partitioned worker's late writes really do reach Redis after the
heal, which is what fencing has to withstand.

A link connects to Redis once per connection the worker opens, so after a Redis
restart the worker's reconnections go through to the new server. Two links (one for
the Redis state, one for the broker) let a caller cut a worker from either alone.

Used by the chaos run (``ops/chaos/run.py --partitions N``) and by the tests
(``tests/_partition.py`` starts a test worker this way).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

#: The command prefix that starts a program in its own user and network namespace.
UNSHARE = ("unshare", "-rn")


def unshare_prefix() -> list[str]:
    """``["unshare", "-rn"]``: put it before a command to run that command with no
    network but its own loopback (check ``unshare_available()`` first)."""
    return list(UNSHARE)


def unshare_available() -> bool:
    """``unshare -rn`` works here (unprivileged user and network namespaces)."""
    if shutil.which(UNSHARE[0]) is None:
        return False
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True)
    return probe.returncode == 0


def _connect_upstream(url: str) -> socket.socket:
    parsed = urlparse(url)
    if parsed.scheme in ("unix", "redis+socket"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(parsed.path)
        return sock
    return socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379))


class Link:
    """A Unix socket at ``path`` relayed to the Redis at ``upstream`` (a redis URL)."""

    def __init__(self, path: Path, upstream: str) -> None:
        self.path = path
        self.upstream = upstream
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._stopped = False
        #: bytes relayed worker -> Redis after the last heal (late writes included)
        self.sent_after_heal = 0
        self._healed_once = False
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(64)
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name=f"link-{path.name}").start()

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        with self._lock:
            self._healed_once = True
            self.sent_after_heal = 0
        self._open.set()

    def close(self) -> None:
        self._stopped = True
        self._open.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                inner, _ = self._listener.accept()
            except OSError:
                return
            try:
                outer = _connect_upstream(self.upstream)
            except OSError:
                inner.close()
                continue
            self._sockets += [inner, outer]
            done = threading.Barrier(2, action=lambda i=inner, o=outer: self._close_pair(i, o))
            threading.Thread(target=self._pump, args=(inner, outer, True, done),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(outer, inner, False, done),
                             daemon=True).start()

    def _close_pair(self, a: socket.socket, b: socket.socket) -> None:
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.close()
            with contextlib.suppress(ValueError):
                self._sockets.remove(sock)

    def _pump(self, src: socket.socket, dst: socket.socket, outbound: bool,
              done: threading.Barrier) -> None:
        """Relay ``src`` to ``dst``, holding each chunk while the link is cut. One side
        ending only ends its direction: a worker that gave up on a connection during
        the cut still has its queued bytes delivered after the heal."""
        try:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._open.wait()  # a closed connection is news the cut holds too
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                self._open.wait()
                try:
                    dst.sendall(data)
                except OSError:
                    return
                if outbound:
                    with self._lock:
                        if self._healed_once:
                            self.sent_after_heal += len(data)
        finally:
            with contextlib.suppress(threading.BrokenBarrierError):
                done.wait(timeout=300)


class Partition:
    """A Redis link and a broker link for one worker, in a temporary folder. The broker
    link leads to ``broker_upstream`` if given (another server, or the same one by
    another name), else to ``upstream`` like the Redis link."""

    def __init__(self, upstream: str, broker_upstream: str | None = None) -> None:
        # Short path: a Unix socket's path is limited to ~107 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="pwpart-"))
        self.redis = Link(self.folder / "redis.sock", upstream)
        self.broker = Link(self.folder / "broker.sock", broker_upstream or upstream)

    def env(self, upstream: str, split: bool = False) -> dict[str, str]:
        """The worker's URLs. One link for both (the usual deployment: the broker is the
        runtime's Redis, so mailboxes are read straight from their lists), or, with
        ``split``, the broker through its own link so it can be cut alone (the worker
        then reads mailboxes through Kombu, as with any broker apart from Redis)."""
        db = urlparse(upstream).path.lstrip("/") or "0"
        if urlparse(upstream).scheme in ("unix", "redis+socket"):
            db = "0"
        broker = self.broker if split else self.redis
        return {"PYWORKFLOW_REDIS_URL": f"unix://{self.redis.path}?db={db}",
                "PYWORKFLOW_BROKER_URL": f"unix://{broker.path}?db={db}"}

    def cut(self) -> None:
        self.redis.cut()
        self.broker.cut()

    def heal(self) -> None:
        self.redis.heal()
        self.broker.heal()

    def close(self) -> None:
        self.redis.close()
        self.broker.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def partition(upstream: str) -> Iterator[Partition]:
    part = Partition(upstream)
    try:
        yield part
    finally:
        part.close()
