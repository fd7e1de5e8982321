"""How a turn ends: what its last batch decided goes out, however the release goes.

Run in this process (no workers), with the race that matters made to happen: a
message lands in the mailbox before the release, and a sender takes the actor's
flag before the turn can take it back.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import actors.turn
from actors import Message
from actors.turn import run_in_hand


def test_effects_go_out_when_a_sender_wins_the_flag_after_the_release(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    system = rt.system
    if not system.mailbox_in_redis:
        pytest.skip("the in-hand turn skips its take only when the mailbox is in Redis")
    actor_id = f"alarm-{uuid.uuid4().hex[:8]}"
    keys = system.actor_keys(actor_id)
    timer_id = f"{actor_id}:late"
    # Waiting in the mailbox when the turn releases: the turn will try to take it back.
    system.mailbox.put(keys.mailbox, Message("ring", actor_id, {"name": "early"}))
    real_begin = actors.turn.begin

    def begin(sys_: Any, aid: str, token: str, activate: bool,
              in_hand: Message | None = None, **more: Any) -> Any:
        if activate and in_hand is None:  # the take-back: a sender got there first
            system.redis.set(keys.activation, "a-sender", px=60_000)
        return real_begin(sys_, aid, token, activate, in_hand, **more)

    monkeypatch.setattr(actors.turn, "begin", begin)
    try:
        arm = Message("arm", actor_id, {"name": "late", "delay_ms": 3_600_000})
        assert run_in_hand(system, arm)
        assert timer_id in system.timers.pending()  # the StartTimer went out
        assert system.redis.hlen(keys.outbox) == 0
        assert not system.redis.exists(keys.dispatching)
    finally:
        system.timers.cancel(timer_id)
        system.redis.delete(keys.activation, keys.mailbox)
        system.redis.zrem(system.keys.lease_index_of(actor_id), actor_id)
