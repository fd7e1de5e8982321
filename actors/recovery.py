"""Recovery: find actors whose turn chain died and start them again.

Every activation writes the actor into a lease index (a sorted set scored by lease
expiry) *before* it takes the actor's flag, and every turn refreshes that score.
An entry whose score has passed points at an actor that is either idle (its last
turn ended and could not prove nobody re-indexed it) or orphaned (its worker was
SIGKILLed). ``recover.lua`` tells the two apart with the actor's own lease key: if
the lease is gone, the caller takes the actor over, puts back the mailbox messages
the dead turn had taken (by delivery tag, so nothing waits for a broker visibility
timeout) and starts a turn. Any worker can do this; whichever gets there first wins.

A *queued* turn (flag taken, task sent, not begun) holds a long lease (30 s; a first
turn 60 s), so that a deep queue is not taken for a dead one. Its task can still be
lost on the way: its sender died between taking the flag and publishing, or a worker
died between the broker's pop and its ``unacked`` record (Kombu's Redis transport
writes the two apart). So recovery looks at a queued turn after
``ActorSystem.queued_check_ms`` (10 s) already: when the queues its task could be in
hold no task of the actor (``ActorSystem.task_may_be_queued``: each read whole while
short; "not empty" was not enough, a busy queue always held something), the task is
nowhere a worker will take it from, and the actor is taken over at once (a copy a
worker still held, prefetched, finds another token when it begins, and ends as a stale
turn); otherwise it looks again after another ``queued_check_ms``. A broker whose
queues cannot be read (no ``queue_text`` reader) keeps the long lease.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from . import log as _log
from .timers import CLAIM_LEASE_MS

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.recovery")


def recover_expired(system: ActorSystem, limit: int = 200) -> int:
    """Take over actors whose lease expired (looking at ``limit`` per lease index
    shard, all shards in one round trip); returns how many were restarted."""
    now_ms = time.time() * 1000
    shards = system.keys.lease_indexes
    pipe = system.redis.pipeline(transaction=False)
    for shard in shards:
        pipe.zrangebyscore(shard, "-inf", now_ms, start=0, num=limit)
    restarted = 0
    queued: dict[str | None, str | None] = {}  # per queue, read once per pass
    for index, ids in zip(shards, pipe.execute(), strict=True):
        for raw_id in ids:
            restarted += _recover_one(system, index, raw_id.decode(), queued)
    return restarted


def _recover_one(system: ActorSystem, index: str, actor_id: str,
                 queued: dict[str | None, str | None]) -> int:
    """Take one actor over if its lease is gone, or if it is a queued turn whose task is
    in no queue (1); else look again later (0)."""
    keys = system.actor_keys(actor_id)
    token = uuid.uuid4().hex
    # Push the entry forward first, so a crash of this recovery is itself recovered.
    system.redis.zadd(index, {actor_id: system.lease_score(queued=True)})
    recover_keys = [keys.activation, keys.inflight, keys.taken, keys.mailbox]
    out = system.scripts.recover(keys=recover_keys, args=[token, system.queued_lease_ms])
    forced = False
    if int(out[0]) == 0 and system.lease_ms < int(out[1]) <= system.first_turn_lease_ms:
        # A queued turn (its flag longer than a running turn's lease): is its task
        # anywhere a worker will take it from?
        may_be_queued = system.task_may_be_queued(actor_id, queued)
        if may_be_queued is False:
            out = system.scripts.recover(
                keys=[*recover_keys, keys.meta],
                args=[token, system.queued_lease_ms, system.lease_ms,
                      system.first_turn_lease_ms])
            forced = int(out[0]) == 1
        elif may_be_queued:  # maybe still queued: look again at the next check
            system.redis.zadd(index, {actor_id: time.time() * 1000 + min(
                int(out[1]) + 1, system.queued_check_ms)})
            return 0
    if int(out[0]) == 0:
        # Still owned, for ``pttl`` more ms: look again right when that runs out. (The
        # index entry may run a few ms ahead of the lease; leaving the queued score
        # from above would delay the recovery of a turn that is just dying.)
        pttl = int(out[1])
        if pttl > 0:
            system.redis.zadd(index, {actor_id: time.time() * 1000 + pttl + 1})
        return 0
    tags = [t.decode() if isinstance(t, bytes) else t for t in out[1:]]
    restored = system.mailbox.restore(tags)
    if forced:
        logger.warning("queued turn taken over: its task is in no queue (lost on its way)",
                       actor_id=actor_id, restored_messages=restored)
    else:
        logger.info("actor taken over after its lease expired", actor_id=actor_id,
                    restored_messages=restored)
    system.restart_turn(actor_id, token)
    return 1


#: Timers claimed per shard in one pass of the timer loop.
TIMER_PASS_LIMIT = 200


def deliver_due_timers(system: ActorSystem, limit: int = TIMER_PASS_LIMIT,
                       grace_ms: int = 0, lease_ms: int = CLAIM_LEASE_MS
                       ) -> tuple[int, int | None, int]:
    """Deliver timers due ``grace_ms`` ago or earlier (``timer_runner``: a pool process
    runs a timer itself before then), each claimed for ``lease_ms``; returns
    (delivered, next due ms or None, Redis now ms)."""
    result = system.timers.claim_due(limit, lease_ms=lease_ms, grace_ms=grace_ms)
    if result.timers:
        system.deliver_timers(result.timers)
        for timer in result.timers:
            logger.debug("timer fired", timer_id=timer.timer_id,
                         actor_id=timer.message.actor_id)
    if result.timers and system.instruments:
        system.instruments.timers_fired(result.timers, result.now_ms)
    return len(result.timers), result.next_due_ms, result.now_ms
