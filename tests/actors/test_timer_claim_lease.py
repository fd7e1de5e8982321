"""The maintenance loop's claim on the timers it sends as wake tasks.

Claimed for 30 s, a wake task lost on its way (the worker SIGKILLed between claim and
publish) left its run asleep 30 s past its due time: the chaos run saw it. When the
loop can read the turn queue's backlog it claims for 10 s, and claims nothing while
that backlog is long (what it sends must start well inside the claim).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from actors import Message
from actors.maintenance import SHORT_CLAIM_LEASE_MS, WAKE_BACKLOG_MAX, Maintenance
from actors.recovery import deliver_due_timers
from actors.timers import CLAIM_LEASE_MS

pytestmark = pytest.mark.redis


@pytest.mark.parametrize(("backlog", "lease"), [
    (None, CLAIM_LEASE_MS),  # no reader: the long claim, as before
    (0, SHORT_CLAIM_LEASE_MS),
    (WAKE_BACKLOG_MAX, SHORT_CLAIM_LEASE_MS),
    (WAKE_BACKLOG_MAX + 1, 0),  # a long backlog: claim nothing this pass
])
def test_the_loops_claim_follows_the_turn_queues_backlog(
        rt: Any, monkeypatch: pytest.MonkeyPatch, backlog: int | None, lease: int) -> None:
    system = rt.system
    monkeypatch.setattr(system, "backlog", None if backlog is None else lambda queue: backlog)
    assert Maintenance(system)._claim_lease_ms() == lease


def test_a_timer_the_loop_delivers_is_claimed_for_the_lease_it_was_given(
        rt: Any, captured_tasks: list[Any]) -> None:
    system = rt.system
    tid = f"t-{uuid.uuid4().hex}"
    system.timers.schedule_at(tid, int(time.time() * 1000) - 10,
                              Message(kind="ring", actor_id=f"alarm-{tid}", payload={}))
    shard = system.keys.timer_shard_of(tid)
    try:
        before = time.time() * 1000
        delivered, _, _ = deliver_due_timers(system, lease_ms=SHORT_CLAIM_LEASE_MS)
        assert delivered >= 1
        expiry = system.redis.zscore(shard.claimed, tid)
        if expiry is None:  # confirmed already (handed to a turn): due no more
            assert system.redis.zscore(shard.due, tid) is None
        else:
            assert before + SHORT_CLAIM_LEASE_MS - 1000 <= expiry \
                <= time.time() * 1000 + SHORT_CLAIM_LEASE_MS
    finally:
        system.timers.cancel(tid)
