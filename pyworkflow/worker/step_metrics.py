"""Step attempts and their durations, counted in Redis: correct with a prefork pool.

Why counters in Redis, not ``prometheus_client``'s multiprocess mode: a Celery
worker is several processes (prefork children that come and go with
``max_tasks_per_child``), on several machines. Multiprocess mode needs a shared
directory per machine, cleanup of dead children's files, and one scrape per machine;
``HINCRBY`` on one hash is atomic whichever process or machine runs it, survives
worker restarts, and any web process can expose the whole cluster's totals. The
increments are added up in the process and written once a second
(:mod:`pyworkflow.worker.counter_buffer`), so a step pays no round trip for them.

Layout (one hash, :func:`counters_key`): ``attempts|<step>|<outcome>`` (outcome:
``completed`` or ``failed``), ``seconds|<step>`` (sum of durations) and
``bucket|<step>|<le>`` (cumulative histogram buckets, :data:`BUCKETS`).
"""

from __future__ import annotations

from typing import Any

from .. import keys
from .counter_buffer import buffer_for

__all__ = ["BUCKETS", "counters_key", "read_counters", "record_attempt"]

#: Histogram upper bounds (seconds) for step durations.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
           300.0, float("inf"))


def counters_key(prefix: str) -> str:
    """Hash: the step counters (see the module docstring), in their own hash slot."""
    return keys.step_metrics(prefix)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def record_attempt(redis: Any, prefix: str, step: str, outcome: str, seconds: float) -> None:
    """Count one finished step attempt (call from the process that ran it); written to
    Redis within a second (``counter_buffer``)."""
    ints = {f"attempts|{step}|{outcome}": 1}
    ints.update({f"bucket|{step}|{_le(bound)}": 1 for bound in BUCKETS if seconds <= bound})
    buffer_for(redis).add(counters_key(prefix), ints, {f"seconds|{step}": seconds})


def read_counters(redis: Any, prefix: str) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in redis.hgetall(counters_key(prefix)).items()}
