"""What the queues hold and who serves them: read for ``pyworkflow queues``, the
dashboard's queues page and ``/metrics``.

Each read is bounded whatever the number of runs: a length per broker list (through
Kombu, so any broker; on Redis each priority level is its own list, and
:func:`levels` reads them apart), one hash of worker adverts (``adverts``), and one
sorted set per need that work waited for (``hand_back``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .. import keys
from ..routing import DEFAULT_QUEUE, celery_queues
from .adverts import Advert, live_adverts
from .broker_backlog import level_lists

__all__ = ["QueueReport", "WaitingNeed", "celery_queue_size", "levels", "queue_reports",
           "waiting_for_workers"]


@dataclass(frozen=True)
class QueueReport:
    """One pyworkflow queue: its two Celery queues' backlogs and the workers reading it."""

    name: str
    turns: str
    steps: str
    turns_waiting: int
    steps_waiting: int
    workers: list[Advert] = field(default_factory=list)


@dataclass(frozen=True)
class WaitingNeed:
    """Work (runs' turns, step attempts) waiting for a worker that has ``need``."""

    need: str
    count: int
    oldest_s: float
    #: live workers that advertise it (the work is on its way to them)
    served_by: list[str] = field(default_factory=list)


def celery_queue_size(rt: Any, queue: str) -> int:
    """Messages waiting in one Celery queue (every priority level), 0 if never declared."""
    with rt.broker_connection() as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except Exception as exc:
            if "NOT_FOUND" not in str(exc):
                raise
            return 0
        finally:
            try:
                channel.close()
            except Exception:  # an AMQP channel closed by the NOT_FOUND
                pass


def levels(rt: Any, queue: str) -> dict[int, int] | None:
    """Messages per broker priority level (level 0 is read first) of one Celery queue;
    None on a broker that keeps no level lists (only Kombu's Redis transport does)."""
    with rt.broker_connection() as conn:
        if conn.transport.driver_type != "redis":
            return None
    pipe = rt.redis.pipeline(transaction=False)
    for name in level_lists(queue):  # level 0 first
        pipe.llen(name)
    counts = pipe.execute()
    return {level: int(n) for level, n in enumerate(counts) if n}


def queue_reports(rt: Any, names: list[str] | None = None) -> list[QueueReport]:
    """``names``' reports, or those of the default queue, every queue a live worker
    reads and every queue work has waited on for want of a reader."""
    prefix = rt.settings.key_prefix
    adverts = live_adverts(rt.redis, prefix)
    unread = {n.decode() if isinstance(n, bytes) else str(n)
              for n in rt.redis.smembers(keys.waiting_needs(prefix))} if names is None else set()
    wanted = names or sorted({DEFAULT_QUEUE, *(q for a in adverts for q in a.queues),
                              *(n.partition(":")[2] for n in unread if n.startswith("queue:"))})
    out = []
    for name in wanted:
        celery = celery_queues(rt.settings.key_prefix, name)
        out.append(QueueReport(
            name, celery["turns"], celery["steps"], celery_queue_size(rt, celery["turns"]),
            celery_queue_size(rt, celery["steps"]), [a for a in adverts if name in a.queues]))
    return out


def waiting_for_workers(rt: Any) -> list[WaitingNeed]:
    """Every need some work waits for (none: an empty list)."""
    prefix = rt.settings.key_prefix
    needs = sorted(n.decode() if isinstance(n, bytes) else str(n)
                   for n in rt.redis.smembers(keys.waiting_needs(prefix)))
    if not needs:
        return []
    pipe = rt.redis.pipeline(transaction=False)
    for need in needs:
        pipe.zcard(keys.waiting_order(prefix, need))
        pipe.zrange(keys.waiting_order(prefix, need), 0, 0, withscores=True)
    replies = pipe.execute()
    adverts = live_adverts(rt.redis, prefix)
    now = time.time()
    out = []
    for i, need in enumerate(needs):
        count, oldest = int(replies[2 * i]), replies[2 * i + 1]
        if count:
            out.append(WaitingNeed(need, count, now - float(oldest[0][1]) if oldest else 0.0,
                                   [a.node for a in adverts if a.has(need)]))
    return out
