"""Recovery: find actors whose turn chain died and start them again.

Every activation writes the actor into a lease index (a sorted set scored by lease
expiry) *before* it takes the actor's flag, and every turn refreshes that score.
An entry whose score has passed points at an actor that is either idle (its last
turn ended and could not prove nobody re-indexed it) or orphaned (its worker was
SIGKILLed). ``recover.lua`` tells the two apart with the actor's own lease key: if
the lease is gone, the caller takes the actor over, puts back the mailbox messages
the dead turn had taken (by delivery tag, so nothing waits for a broker visibility
timeout) and starts a turn. Any worker can do this; whichever gets there first wins.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from . import log as _log

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
    for index, ids in zip(shards, pipe.execute(), strict=True):
        for raw_id in ids:
            restarted += _recover_one(system, index, raw_id.decode())
    return restarted


def _recover_one(system: ActorSystem, index: str, actor_id: str) -> int:
    """Take one actor over if its lease is gone (1), else look again later (0)."""
    keys = system.actor_keys(actor_id)
    token = uuid.uuid4().hex
    # Push the entry forward first, so a crash of this recovery is itself recovered.
    system.redis.zadd(index, {actor_id: system.lease_score(queued=True)})
    out = system.scripts.recover(keys=[keys.activation, keys.inflight, keys.taken,
                                       keys.mailbox],
                                 args=[token, system.queued_lease_ms])
    if int(out[0]) == 0:
        # Still owned, for ``pttl`` more ms: look again right when that runs out. (The
        # index entry may run a few ms ahead of the lease; leaving the queued score
        # from above would delay the recovery of a turn that is just dying by 30 s.)
        pttl = int(out[1])
        if pttl > 0:
            system.redis.zadd(index, {actor_id: time.time() * 1000 + pttl + 1})
        return 0
    tags = [t.decode() if isinstance(t, bytes) else t for t in out[1:]]
    restored = system.mailbox.restore(tags)
    logger.info("actor taken over after its lease expired", actor_id=actor_id,
                restored_messages=restored)
    system.restart_turn(actor_id, token)
    return 1


#: Timers claimed per shard in one pass of the timer loop.
TIMER_PASS_LIMIT = 200


def deliver_due_timers(system: ActorSystem, limit: int = TIMER_PASS_LIMIT,
                       grace_ms: int = 0) -> tuple[int, int | None, int]:
    """Deliver timers due ``grace_ms`` ago or earlier (``timer_runner``: a pool process
    runs a timer itself before then); returns (delivered, next due ms or None, Redis
    now ms)."""
    result = system.timers.claim_due(limit, grace_ms=grace_ms)
    if result.timers:
        system.deliver_timers(result.timers)
        for timer in result.timers:
            logger.debug("timer fired", timer_id=timer.timer_id,
                         actor_id=timer.message.actor_id)
    if result.timers and system.instruments:
        system.instruments.timers_fired(result.timers, result.now_ms)
    return len(result.timers), result.next_due_ms, result.now_ms
