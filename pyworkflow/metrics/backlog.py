"""What is waiting right now, read at scrape time: queues, mailboxes, timers, dead
letters, workers.

Every read here is bounded, whatever the number of runs in Redis: a length or a
count per structure, and the mailboxes of at most :data:`MAILBOX_SAMPLE` actors.
Mailboxes are read only for actors in the lease index (a turn queued or running):
an idle actor's mailbox is empty, since a message to it activates it, so the sum
over those is the whole backlog for up to :data:`MAILBOX_SAMPLE` busy actors, and
``pyworkflow_mailboxes_read`` says how many were read when there are more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..worker.heartbeat import STALE_AFTER_S, workers_seen

__all__ = ["MAILBOX_SAMPLE", "backlog_families"]

#: Mailboxes read per scrape (pipelined ``LLEN``s on a Redis broker).
MAILBOX_SAMPLE = 1000
#: ... and through the broker's own API (a passive declare each) on another broker.
MAILBOX_SAMPLE_BROKER = 100
#: A timer due this long ago and still not claimed counts as overdue.
OVERDUE_AFTER_S = 1.0


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _queue_sizes(rt: Any) -> dict[str, int]:
    """Messages waiting in the Celery queues of turns and steps (through Kombu, so on
    any broker; on Redis, every priority list of a queue counts)."""
    sizes: dict[str, int] = {}
    with rt.celery.connection_for_read() as conn:
        for role, queue in rt.queues.items():
            channel = conn.channel()
            try:
                sizes[role] = int(channel.queue_declare(queue=queue, passive=True).message_count)
            except Exception as exc:
                if "NOT_FOUND" not in str(exc):
                    raise
                sizes[role] = 0  # never declared, or empty on Redis
            finally:
                try:
                    channel.close()
                except Exception:  # an AMQP channel closed by the NOT_FOUND
                    pass
    return sizes


def _mailboxes(rt: Any) -> tuple[int, int, int, int]:
    """(actors with a turn queued or running, mailboxes read, messages in them, deepest)."""
    system = rt.system
    shards = system.keys.lease_indexes
    sample = MAILBOX_SAMPLE if system.mailbox_in_redis else MAILBOX_SAMPLE_BROKER
    pipe = rt.redis.pipeline(transaction=False)
    for index in shards:
        pipe.zcard(index)
        pipe.zrange(index, 0, sample - 1, withscores=True)
    replies = pipe.execute()
    active = sum(int(n) for n in replies[0::2])
    oldest = sorted((score, raw) for rows in replies[1::2] for raw, score in rows)[:sample]
    ids = [raw.decode() if isinstance(raw, bytes) else str(raw) for _, raw in oldest]
    if system.mailbox_in_redis:
        pipe = rt.redis.pipeline(transaction=False)
        for actor_id in ids:
            pipe.llen(system.actor_keys(actor_id).mailbox)
        depths = [int(n) for n in pipe.execute()]
    else:
        depths = [system.mailbox.size(system.actor_keys(a).mailbox) for a in ids]
    return active, len(ids), sum(depths), max(depths, default=0)


def _dead_letters_added(rt: Any, key: str) -> int | None:
    """Entries ever added to the dead-letter stream (Redis 7's ``entries-added``): a
    counter, unlike its length, which trimming and deletion bring down."""
    try:
        info = rt.redis.xinfo_stream(key)
    except Exception:  # no stream yet, or a Redis without it
        return 0 if not rt.redis.exists(key) else None
    added = info.get("entries-added", info.get(b"entries-added"))
    return None if added is None else int(added)


def backlog_families(rt: Any) -> Iterator[Metric]:
    prefix = rt.settings.key_prefix
    gk = rt.system.keys
    queues = GaugeMetricFamily("pyworkflow_queue_messages",
                               "Celery task messages waiting in a queue (turns: run and "
                               "schedule turns; steps: step attempts).", labels=["queue"])
    for role, size in sorted(_queue_sizes(rt).items()):
        queues.add_metric([role], size)
    yield queues
    active, read, waiting, deepest = _mailboxes(rt)
    yield _gauge("pyworkflow_actors_active", "Runs and schedules with a turn queued or "
                 "running (the lease index).", active)
    yield _gauge("pyworkflow_mailbox_messages", "Messages waiting in the mailboxes of the "
                 "actors read (see pyworkflow_mailboxes_read).", waiting)
    yield _gauge("pyworkflow_mailbox_max_messages", "The deepest mailbox read.", deepest)
    yield _gauge("pyworkflow_mailboxes_read", "Mailboxes read for this scrape (at most "
                 f"{MAILBOX_SAMPLE}, the actors longest in the lease index).", read)
    now_ms = time.time() * 1000
    pipe = rt.redis.pipeline(transaction=False)
    for shard in gk.timer_shards:
        pipe.zcard(shard.due)
        pipe.zcount(shard.due, "-inf", now_ms - OVERDUE_AFTER_S * 1000)
        pipe.zcard(shard.claimed)
    pipe.xlen(gk.dead_letters)
    replies = [int(n) for n in pipe.execute()]
    dead = replies.pop()
    pending, overdue, claimed = (sum(replies[i::3]) for i in range(3))
    yield _gauge("pyworkflow_timers_pending", "Durable timers not fired yet (sleeps, "
                 "retries, hook and run timeouts, schedules).", pending)
    yield _gauge("pyworkflow_timers_overdue", f"Timers due over {OVERDUE_AFTER_S:g} s ago "
                 "and not claimed by a worker yet.", overdue)
    yield _gauge("pyworkflow_timers_claimed", "Timers claimed by a worker, delivery not "
                 "confirmed yet.", claimed)
    yield _gauge("pyworkflow_dead_letters", "Entries in the dead-letter stream (capped; "
                 "see pyworkflow dead-letters list).", dead)
    added = _dead_letters_added(rt, gk.dead_letters)
    if added is not None:
        total = CounterMetricFamily("pyworkflow_dead_letters_added",
                                    "Entries ever added to the dead-letter stream.")
        total.add_metric([], added)
        yield total
    yield _gauge("pyworkflow_workers", f"Workers whose maintenance loop beat within the "
                 f"last {STALE_AFTER_S:g} s.", workers_seen(rt.redis, prefix))
