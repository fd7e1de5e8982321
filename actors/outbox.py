"""The outbox: effects a turn committed and has not dispatched yet.

``commit.lua`` writes a batch's effects into the actor's ``outbox`` hash in the
same atomic step as its events, under ids ``<seq>.<i>`` (the seq the batch
started from, the effect's place in it) that sort in the order they were decided.
The turn dispatches them after the commit and deletes each dispatched entry in its
next round trip to Redis; whatever a dead turn left in the hash is dispatched by
the next turn. Receivers are idempotent, so dispatching twice is safe.

Effects go out before the next batch or, when the turn ends, right *after* the
actor is released: a step dispatched while its turn still held the run would often
finish before the release and find the run busy, losing the in-place turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import log as _log
from .effects import Effect, EnqueueTask, effect_from_dict
from .keys import ActorKeys

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.outbox")


def effect_ids(seq: int, effects: list[Effect]) -> list[tuple[str, Effect]]:
    """The outbox ids of the effects of a batch committed after ``seq``."""
    return [(f"{seq}.{i}", e) for i, e in enumerate(effects)]


def _effect_order(effect_id: bytes | str) -> tuple[int, int]:
    text = effect_id.decode() if isinstance(effect_id, bytes) else effect_id
    seq, _, idx = text.partition(".")
    return int(seq), int(idx or 0)


class Outbox:
    """One turn's view of its actor's outbox: committed effects not yet dispatched, and
    dispatched ones not yet deleted."""

    def __init__(self, system: ActorSystem, keys: ActorKeys) -> None:
        self._system = system
        self._key = keys.outbox
        self._pending: list[tuple[str, Effect]] = []
        self._dispatched: list[str] = []

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def single_pending(self) -> EnqueueTask | None:
        """The one effect to dispatch, when there is exactly one and it is a task."""
        if len(self._pending) == 1 and isinstance(self._pending[0][1], EnqueueTask):
            return self._pending[0][1]
        return None

    def stage(self, committed: list[tuple[str, Effect]]) -> None:
        """Effects just committed (with their ids), to dispatch next."""
        self._pending.extend(committed)

    def dispatch_left(self, skip: set[str] | None = None) -> None:
        """Dispatch what an earlier turn committed but did not get to dispatch (not the
        entries named in ``skip``: this turn's own, staged already)."""
        redis = self._system.redis
        left = redis.hgetall(self._key)
        if skip:
            left = {eid: raw for eid, raw in left.items()
                    if (eid.decode() if isinstance(eid, bytes) else eid) not in skip}
        if not left:
            return
        items = sorted(left.items(), key=lambda kv: _effect_order(kv[0]))
        logger.info("dispatching effects left by an earlier turn", count=len(items))
        for effect_id, raw in items:
            self._system.dispatch_one(effect_from_dict(json.loads(raw)))
            redis.hdel(self._key, effect_id)

    def dispatch_pending(self, watched: bool = False) -> None:
        """``watched``: their watch entries were written already (``write_watches``)."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._system.dispatch((e for _, e in pending), watched=watched)
            self._dispatched.extend(eid for eid, _ in pending)

    def mark_pending_dispatched(self) -> None:
        """The pending effects left by another way (a task kept to run in place): only
        their outbox entries are left to delete."""
        self._dispatched.extend(eid for eid, _ in self._pending)
        self._pending = []

    def forget_pending(self) -> None:
        """The pending effects left by another way and their entries are deleted too
        (a task kept to run in place, its entry deleted in the commit's round trip)."""
        self._pending = []

    def write_watches(self, pipe: Any) -> None:
        """Queue the watch entries of the pending tasks (see ``EnqueueTask``) on ``pipe``."""
        now = time.time() * 1000
        for _, effect in self._pending:
            if isinstance(effect, EnqueueTask) and effect.watch_key and effect.watch_member:
                pipe.zadd(effect.watch_key, {effect.watch_member: now + effect.watch_ms})

    def delete_dispatched_in(self, pipe: Any) -> bool:
        """Queue the deletion of the dispatched entries on ``pipe``; False if none."""
        if not self._dispatched:
            return False
        pipe.hdel(self._key, *self._dispatched)
        self._dispatched = []
        return True

    def flush(self, also: Callable[[Any], None] | None = None) -> None:
        """Delete the dispatched entries now (with what ``also(pipe)`` queues)."""
        if not self._dispatched and also is None:
            return
        pipe = self._system.redis.pipeline(transaction=False)
        self.delete_dispatched_in(pipe)
        if also is not None:
            also(pipe)
        pipe.execute()
