"""Counter increments added up in this process and written to Redis about once a second.

The worker-side metrics (:mod:`pyworkflow.worker.step_metrics`,
:mod:`pyworkflow.worker.turn_metrics`) are ``HINCRBY`` on Redis hashes, so every
process of every worker adds to one total. Written as they happen, they cost two Redis
round trips per step (a third of a step's time in the benchmark); added up here and
written by a background thread in one pipeline per interval, they cost none on the
step's path.

The price: a process killed outright loses what it counted in its last interval (a
warm shutdown flushes: ``flush`` runs on Celery's ``worker_process_shutdown`` and at
exit). Counts are never doubled. A flush that fails (Redis away) keeps its counts
for the next one.

One buffer per process: after a fork (prefork children), the child starts with an
empty buffer and its own thread, so the parent's counts are never written twice.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any

import redis as redis_lib

#: Seconds between two writes of a process's counts.
FLUSH_INTERVAL_S = 1.0


class CounterBuffer:
    def __init__(self, client: Any, interval: float = FLUSH_INTERVAL_S) -> None:
        self._client = client
        self._interval = interval
        self._pid = -1
        self._lock = threading.Lock()
        self._ints: dict[str, Counter[str]] = {}
        self._floats: dict[str, dict[str, float]] = {}
        atexit.register(self.flush)

    def add(self, key: str, ints: Mapping[str, int] | None = None,
            floats: Mapping[str, float] | None = None) -> None:
        """Add to hash ``key``'s fields (written within ``interval`` seconds)."""
        self._own_process()
        with self._lock:
            if ints:
                self._ints.setdefault(key, Counter()).update(ints)
            if floats:
                into = self._floats.setdefault(key, {})
                for field, x in floats.items():
                    into[field] = into.get(field, 0.0) + x

    def flush(self) -> None:
        """Write what this process counted since the last flush (kept on failure)."""
        if self._pid != os.getpid():
            return  # nothing counted in this process
        with self._lock:
            ints, floats = self._ints, self._floats
            self._ints, self._floats = {}, {}
        if not ints and not floats:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for key, fields in ints.items():
                for field, n in fields.items():
                    pipe.hincrby(key, field, n)
            for key, values in floats.items():
                for field, x in values.items():
                    pipe.hincrbyfloat(key, field, x)
            pipe.execute()
        except (redis_lib.RedisError, OSError):
            with self._lock:  # put them back: the next flush tries again
                for key, fields in ints.items():
                    self._ints.setdefault(key, Counter()).update(fields)
                for key, values in floats.items():
                    into = self._floats.setdefault(key, {})
                    for field, x in values.items():
                        into[field] = into.get(field, 0.0) + x

    def _own_process(self) -> None:
        """First use in this process (or after a fork): a fresh buffer and thread."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._ints, self._floats = {}, {}
            threading.Thread(target=self._run, name="pyworkflow-counters", daemon=True).start()

    def _run(self) -> None:
        pid = os.getpid()
        stop = threading.Event()
        while not stop.wait(self._interval):
            if self._pid != pid:
                return
            self.flush()


_buffers: weakref.WeakKeyDictionary[Any, CounterBuffer] = weakref.WeakKeyDictionary()
_buffers_lock = threading.Lock()


def buffer_for(client: Any) -> CounterBuffer:
    """The one buffer of ``client`` (so all metrics of a process share one flush)."""
    with _buffers_lock:
        found = _buffers.get(client)
        if found is None:
            found = _buffers[client] = CounterBuffer(client)
        return found
