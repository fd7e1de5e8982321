"""Counts Redis round trips and the time spent waiting on them, per unit of work.

A round trip is one ``send_packed_command`` of redis-py (a pipeline is one); the
wait is the time spent sending and reading replies. Kombu's Redis transport uses
redis-py too, so mailbox and Celery publishes are counted. Only calls made by the
thread that opened the current window count: background threads (lease renewals,
maintenance, the bench's own reporters) do not pollute a task's figures.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from typing import Any

_lock = threading.Lock()
_installed = False


#: Frames from these packages are skipped when naming the call site of a round trip.
_LIBRARY_MARKERS = ("/redis/", "/kombu/", "/celery/", "/contextlib.py", "/functools.py",
                    "/_iotrace.py")


def call_site() -> str:
    """``file:line (function)`` of the innermost caller outside redis/kombu/celery."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not any(marker in name for marker in _LIBRARY_MARKERS):
            short = name.split("/main/", 1)[-1]
            return f"{short}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


class Window:
    """What one thread did between ``open`` and ``close``."""

    def __init__(self) -> None:
        self.ident: int | None = None
        self.round_trips = 0
        self.io_s = 0.0
        self.started = 0.0
        #: When set, every round trip is counted by call site (slow: profiling only).
        self.sites: collections.Counter[str] | None = None

    def open(self) -> None:
        self.ident = threading.get_ident()
        self.round_trips = 0
        self.io_s = 0.0
        self.started = time.perf_counter()

    def close(self) -> tuple[int, float, float]:
        """``(round trips, seconds waiting on Redis, seconds in all)``."""
        self.ident = None
        return self.round_trips, self.io_s, time.perf_counter() - self.started


current = Window()


def install() -> None:
    """Wrap redis-py's connection I/O (once per process; forked children inherit it)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    from redis.connection import AbstractConnection

    orig_send = AbstractConnection.send_packed_command
    orig_read = AbstractConnection.read_response

    def send_packed_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current.ident != threading.get_ident():
            return orig_send(self, *args, **kwargs)
        t0 = time.perf_counter()
        try:
            return orig_send(self, *args, **kwargs)
        finally:
            current.round_trips += 1
            current.io_s += time.perf_counter() - t0
            if current.sites is not None:
                current.sites[call_site()] += 1

    def read_response(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current.ident != threading.get_ident():
            return orig_read(self, *args, **kwargs)
        t0 = time.perf_counter()
        try:
            return orig_read(self, *args, **kwargs)
        finally:
            current.io_s += time.perf_counter() - t0

    AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    AbstractConnection.read_response = read_response  # type: ignore[method-assign]
