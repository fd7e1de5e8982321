"""Tasks a dead worker held, put back in their queue within seconds.

Why this exists: on a Redis broker, a Celery worker takes a task message into Kombu's
``unacked`` hash when it fetches it (prefetched or running, late acks). If the worker
is SIGKILLed, nobody acknowledges or rejects that message; Kombu restores it only
after its visibility timeout (an hour here), so the turn or step it carried waits
for one of the runtime's own watches instead (a step dispatched and never started is
re-sent after a minute; a turn's queued lease runs 30 s). Under heavy faults those
watches made most of the time a lost step took to be redone.

How: every worker publishes, about once a second, from a thread of its own (a broker
that hangs must not hold up the maintenance loop), the delivery tags
of the task messages its main process holds (Celery's reserved and active requests)
under its name, with a counter that goes up by one each time. Every worker also
looks at the unacknowledged messages older than a second: one held by no live worker,
while every live worker has published twice since it was first seen unheld, and for
at least :data:`GRACE_S`, was held by a worker that died; it is put back with Kombu's
own ``restore_by_tag`` (a watched transaction, so two workers doing it at once put it
back once). A worker whose counter has not moved for :data:`HOLDER_STALE_S` is taken
for dead. Liveness is judged by the counter on the looker's own monotonic clock, so
clock skew between hosts cannot make a live worker look dead.

Only messages on the deployment's own task queues are touched (names starting with its
queue prefix): other Celery apps sharing the broker keep Kombu's behaviour. Putting back
a message a live worker did hold would at worst run a turn or step twice, which the
runtime fences (a turn's ownership token, a step's lease and its exactly-once result).
On AMQP the broker requeues a dead consumer's messages itself; this does nothing there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery.worker import state as celery_state

from . import log as _log

logger = _log.get_logger("actors.held_tasks")

__all__ = ["GRACE_S", "HOLDER_STALE_S", "HeldTasks"]

#: A message must stay unheld at least this long before it is put back.
GRACE_S = 2.0
#: A holder whose counter has not moved for this long is taken for dead.
HOLDER_STALE_S = 4.0
#: A dead holder's record is deleted after this long.
FORGET_AFTER_S = 120.0
#: At most this many unacknowledged messages are looked at in one pass.
SCAN_LIMIT = 500
#: Messages younger than this (by Kombu's own timestamp) are not looked at.
MIN_AGE_S = 1.0


@dataclass
class _Holder:
    seq: int
    changed_at: float  # monotonic
    tags: frozenset[str]


@dataclass
class _Unheld:
    first_seen: float  # monotonic
    #: each live holder's counter when the message was first seen unheld
    seqs: dict[str, int] = field(default_factory=dict)


def _reserved_tags() -> list[str]:
    """Delivery tags of the task messages this worker process holds (prefetched or
    running). Read from another thread than Celery's, so a set changing size while it
    is copied is tried again."""
    for _ in range(5):
        try:
            requests = [*celery_state.reserved_requests, *celery_state.active_requests]
            break
        except RuntimeError:  # changed size during iteration
            continue
    else:
        return []
    tags: list[str] = []
    for request in requests:
        tag = getattr(getattr(request, "message", None), "delivery_tag", None)
        if tag is not None:
            tags.append(str(tag))
    return tags


class HeldTasks:
    """The held-tasks record of one worker, and the pass that puts back what dead ones
    held. ``publish`` and ``put_back`` run about once a second (``actors.worker``)."""

    def __init__(self, redis: Any, key: str, name: str, queue_prefix: str,
                 channel: Callable[[], Any],
                 reserved: Callable[[], list[str]] = _reserved_tags) -> None:
        self.redis = redis
        self.key = key
        self.name = name
        self.queue_prefix = queue_prefix
        self._channel = channel
        self._reserved = reserved
        self._seq = 0
        self._holders: dict[str, _Holder] = {}
        self._unheld: dict[str, _Unheld] = {}
        self._offset = 0
        self.put_back_count = 0

    # -- this worker's record ---------------------------------------------------------
    def publish(self) -> None:
        self._seq += 1
        record = json.dumps({"seq": self._seq, "tags": self._reserved()})
        self.redis.hset(self.key, self.name, record)

    def stop(self) -> None:
        """The worker stops cleanly (Kombu restores what it held as it closes)."""
        try:
            self.redis.hdel(self.key, self.name)
        except Exception:  # Redis gone: the record goes stale on its own
            pass

    # -- what dead workers held -------------------------------------------------------
    def put_back(self) -> int:
        """Put back the messages dead workers held; how many."""
        channel = self._channel()
        qos: Any = getattr(channel, "qos", None)
        restore_by_tag = getattr(qos, "restore_by_tag", None)
        if restore_by_tag is None:
            return 0  # not a virtual transport: the broker requeues by itself
        broker = getattr(channel, "client", None)
        if broker is None:
            return 0
        now = time.monotonic()
        live = self._live_holders(now)
        held = frozenset().union(*(h.tags for h in live.values()))
        cutoff = time.time() - MIN_AGE_S
        # Oldest first, a page a pass: other apps' messages on the same broker cannot
        # keep ours out of sight for long.
        start = self._offset
        tags = [t.decode() if isinstance(t, bytes) else str(t) for t in
                broker.zrangebyscore(qos.unacked_index_key, "-inf", cutoff,
                                     start=start, num=SCAN_LIMIT)]
        self._offset = start + len(tags) if len(tags) == SCAN_LIMIT else 0
        due: list[str] = []
        for tag in tags:
            if tag in held:
                self._unheld.pop(tag, None)
                continue
            seen = self._unheld.get(tag)
            if seen is None:
                self._unheld[tag] = _Unheld(now, {n: h.seq for n, h in live.items()})
            elif now - seen.first_seen >= GRACE_S and all(
                    h.seq >= seen.seqs.get(n, h.seq - 2) + 2 for n, h in live.items()):
                due.append(tag)
        if start == 0 and self._offset == 0:  # one page was all: forget the rest
            present = set(tags)
            for tag in [t for t in self._unheld if t not in present]:
                del self._unheld[tag]
        if not due:
            return 0
        entries = broker.hmget(qos.unacked_key, due)
        count = 0
        for tag, entry in zip(due, entries, strict=True):
            self._unheld.pop(tag, None)
            if entry is None or not self._ours(entry):
                continue
            restore_by_tag(tag, leftmost=False)
            count += 1
        if count:
            self.put_back_count += count
            logger.info("put back tasks a lost worker held", count=count)
        return count

    def _ours(self, entry: bytes | str) -> bool:
        try:
            routing_key = json.loads(entry)[2]
        except (ValueError, IndexError, TypeError):
            return False
        return isinstance(routing_key, str) and routing_key.startswith(self.queue_prefix)

    def _live_holders(self, now: float) -> dict[str, _Holder]:
        """Holders whose counter moved within :data:`HOLDER_STALE_S` (and this worker)."""
        records = self.redis.hgetall(self.key)
        live: dict[str, _Holder] = {}
        gone: list[str] = []
        for raw_name, raw in records.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            try:
                data = json.loads(raw)
                seq, tags = int(data["seq"]), frozenset(str(t) for t in data["tags"])
            except (ValueError, KeyError, TypeError):
                gone.append(name)
                continue
            known = self._holders.get(name)
            if known is None or known.seq != seq:
                known = _Holder(seq, now, tags)
                self._holders[name] = known
            if now - known.changed_at > FORGET_AFTER_S:
                gone.append(name)
            elif now - known.changed_at <= HOLDER_STALE_S or name == self.name:
                live[name] = known
        for name in [n for n in self._holders if n not in records and
                     n.encode() not in records]:
            del self._holders[name]
        if gone:
            self.redis.hdel(self.key, *gone)
        return live
