"""A stale turn task leaves the actor's recovery where it was.

A begin pushes the actor's lease-index entry a lease ahead in the same round trip
(the index is on another slot of a cluster, so not in the begin script). A turn task
whose token no longer owns the actor (a dead worker's task put back by
``held_tasks`` just as the dead chain's lease ran out) used to leave that push in
place, and the takeover came a whole lease later: the SIGKILL recovery test saw 10 s
instead of 5. The index entry is now brought back to now for recovery to look at.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from actors.ownership import begin

pytestmark = pytest.mark.redis


def test_a_stale_turn_task_does_not_push_the_takeover_back(rt: Any) -> None:
    system = rt.system
    actor_id = f"stale-{uuid.uuid4().hex[:8]}"
    index = system.keys.lease_index_of(actor_id)
    keys = system.actor_keys(actor_id)
    # A dead chain: the actor's lease has run out, and recovery has it due now.
    due = time.time() * 1000
    system.redis.zadd(index, {actor_id: due})
    try:
        assert begin(system, actor_id, "token-of-a-dead-chain", activate=False) is None
        score = system.redis.zscore(index, actor_id)
        assert score is not None and score <= time.time() * 1000, (score, due)
        # A live owner keeps its actor: the entry only says "look now", and recovery's
        # own check (recover.lua) finds the lease held.
        system.redis.set(keys.activation, "live-token", px=5000)
        assert begin(system, actor_id, "another-stale-token", activate=False) is None
        assert system.redis.get(keys.activation) == b"live-token"
    finally:
        system.redis.delete(keys.activation, keys.meta)
        system.redis.zrem(index, actor_id)
