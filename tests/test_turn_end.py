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


def test_a_turn_with_nothing_to_dispatch_releases_in_its_commits_round_trip(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    system = rt.system
    if not system.mailbox_in_redis:
        pytest.skip("the release reads the mailbox's length only when it is a Redis list")
    actor_id = f"alarm-{uuid.uuid4().hex[:8]}"
    keys = system.actor_keys(actor_id)
    pipelines = [0]
    real = type(system.scripts).pipeline

    def pipeline(self: Any, build: Any) -> Any:
        pipelines[0] += 1
        return real(self, build)

    monkeypatch.setattr(type(system.scripts), "pipeline", pipeline)
    rode: list[str] = []
    try:
        ring = Message("ring", actor_id, {"name": "now"})
        assert run_in_hand(system, ring,
                           with_release=lambda pipe: rode.append("rode") or pipe.ping())
        assert pipelines[0] == 2  # the begin; the commit with the release and its writes
        assert rode == ["rode"]
        assert [e.type for e in system.journal(actor_id).read()] == ["rang"]
        assert not system.redis.exists(keys.activation)
        assert system.redis.zscore(system.keys.lease_index_of(actor_id), actor_id) is None
        # A message waiting at that release: the turn takes the actor back for it.
        system.mailbox.put(keys.mailbox, Message("ring", actor_id, {"name": "queued"}))
        assert run_in_hand(system, Message("ring", actor_id, {"name": "again"}))
        assert [e.data["name"] for e in system.journal(actor_id).read()] == [
            "now", "again", "queued"]
        assert not system.redis.exists(keys.activation)
        assert system.redis.llen(keys.mailbox) == 0
    finally:
        system.redis.delete(*keys.every())
        system.redis.zrem(system.keys.lease_index_of(actor_id), actor_id)
