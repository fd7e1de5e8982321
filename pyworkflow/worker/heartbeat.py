"""Which workers are alive: each worker's maintenance loop says so every few seconds.

A worker (``pyworkflow worker run``: one main process and its pool) writes its name
and the time into one sorted set (:func:`pyworkflow.keys.worker_heartbeats`) from
the maintenance loop it already runs (``ActorSystem.periodic``), at most every
:data:`BEAT_EVERY_S`; a worker that stops cleanly takes its name out. ``/metrics``
counts the names seen within :data:`STALE_AFTER_S` (``pyworkflow_workers``): one
small read, whatever the number of runs, and a killed worker drops out on its own.
Celery's own worker heartbeats are not used: they need task events on, which the
app keeps off (one message per task on the broker).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from .. import keys

__all__ = ["BEAT_EVERY_S", "STALE_AFTER_S", "Heartbeat", "workers_seen"]

BEAT_EVERY_S = 5.0
#: A worker not heard from for this long is not counted (three missed beats).
STALE_AFTER_S = 15.0
#: Names older than this are deleted at the next scrape.
FORGET_AFTER_S = 3600.0


class Heartbeat:
    """The beat of this process's worker; ``beat`` is a periodic maintenance job."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.key = keys.worker_heartbeats(prefix)
        self._next = 0.0

    @property
    def name(self) -> str:
        # Read at beat time: the maintenance loop runs in the worker's main process.
        return f"{socket.gethostname()}:{os.getpid()}"

    def beat(self) -> None:
        now = time.time()
        if now < self._next:
            return
        self.redis.zadd(self.key, {self.name: now})
        self._next = now + BEAT_EVERY_S

    def stop(self) -> None:
        """The worker is shutting down: not counted any more (best effort)."""
        if self._next:
            try:
                self.redis.zrem(self.key, self.name)
            except Exception:  # Redis gone: the name goes stale on its own
                pass
            self._next = 0.0


def workers_seen(redis: Any, prefix: str) -> int:
    """How many workers beat within :data:`STALE_AFTER_S` (forgetting long-gone ones)."""
    key, now = keys.worker_heartbeats(prefix), time.time()
    pipe = redis.pipeline(transaction=False)
    pipe.zremrangebyscore(key, "-inf", now - FORGET_AFTER_S)
    pipe.zcount(key, now - STALE_AFTER_S, "+inf")
    return int(pipe.execute()[1])
