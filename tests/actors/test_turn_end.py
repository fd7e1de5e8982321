"""How a turn ends: what its last batch decided goes out, however the release goes.

Run in this process (no workers), with the race that matters made to happen: a
message lands in the mailbox before the release, and a sender takes the actor's
flag before the turn can take it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import actors
import actors.fast.end_in_commit
import actors.ownership
import actors.turn
from actors import Message
from actors.turn_begin import InHandTurn


@pytest.fixture
def alarm(rt: Any) -> Iterator[str]:
    """A fresh alarm actor's id (``tests.toy_actors``), in a runtime whose mailbox is a
    Redis list (the turn's release reads its length: else the test is skipped); its keys,
    timers and lease-index entry are gone afterwards."""
    system = rt.system
    if not system.mailbox_in_redis:
        pytest.skip("the release reads the mailbox's length only when it is a Redis list")
    actor_id = f"alarm-{uuid.uuid4().hex[:8]}"
    yield actor_id
    system.timers.cancel(*[t for t in system.timers.pending() if t.startswith(actor_id)])
    system.redis.delete(*system.actor_keys(actor_id).every())
    system.redis.zrem(system.keys.lease_index_of(actor_id), actor_id)


def test_effects_go_out_when_a_sender_wins_the_flag_after_the_release(
        rt: Any, alarm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    system = rt.system
    actor_id = alarm
    keys = system.actor_keys(actor_id)
    timer_id = f"{actor_id}:late"
    # The turn's end goes after its commit, not in its round trip (as for effects that
    # cannot go there): the release, then the take-back that loses, then the dispatch.
    monkeypatch.setattr(actors.fast.end_in_commit.EndInCommit, "plan",
                        classmethod(lambda cls, *args: None))
    # Waiting in the mailbox when the turn releases: the turn will try to take it back.
    system.mailbox.put(keys.mailbox, Message("ring", actor_id, {"name": "early"}))
    real_begin = actors.ownership.begin

    def begin(sys_: Any, aid: str, token: str, activate: bool,
              in_hand: Message | None = None, **more: Any) -> Any:
        if activate and in_hand is None:  # the take-back: a sender got there first
            system.redis.set(keys.activation, "a-sender", px=60_000)
        return real_begin(sys_, aid, token, activate, in_hand, **more)

    monkeypatch.setattr(actors.turn, "begin", begin)
    arm = Message("arm", actor_id, {"name": "late", "delay_ms": 3_600_000})
    assert InHandTurn(arm).run(system)
    assert timer_id in system.timers.pending()  # the StartTimer went out
    assert system.redis.hlen(keys.outbox) == 0
    assert not system.redis.exists(keys.dispatching)


def test_a_turn_with_nothing_to_dispatch_releases_in_its_commits_round_trip(
        rt: Any, alarm: str, round_trips: list[int]) -> None:
    system = rt.system
    actor_id = alarm
    keys = system.actor_keys(actor_id)
    rode: list[str] = []

    def ride(pipe: Any) -> None:
        rode.append("rode")
        pipe.ping()

    ring = Message("ring", actor_id, {"name": "now"})
    assert InHandTurn(ring, with_release=ride).run(system)
    assert round_trips[0] == 2  # the begin; the commit with the release and its writes
    assert rode == ["rode"]
    assert [e.type for e in system.journal(actor_id).read()] == ["rang"]
    assert not system.redis.exists(keys.activation)
    assert system.redis.zscore(system.keys.lease_index_of(actor_id), actor_id) is None
    # A message waiting at that release: the turn takes the actor back for it.
    system.mailbox.put(keys.mailbox, Message("ring", actor_id, {"name": "queued"}))
    assert InHandTurn(Message("ring", actor_id, {"name": "again"})).run(system)
    assert [e.data["name"] for e in system.journal(actor_id).read()] == [
        "now", "again", "queued"]
    assert not system.redis.exists(keys.activation)
    assert system.redis.llen(keys.mailbox) == 0


class _Dispatcher(actors.Behaviour[dict[str, Any]]):
    """Each ``go`` message commits one task to send."""

    def initial_state(self, actor_id: str) -> dict[str, Any]:
        return {}

    def apply(self, state: dict[str, Any], event: actors.Event) -> None:
        pass

    def handle(self, state: dict[str, Any], message: Message,
               ctx: actors.TurnContext) -> None:
        ctx.emit("sent", {})
        ctx.effect(actors.EnqueueTask(name="tests.kept-task", task_id=message.msg_id,
                                      kwargs={"n": message.payload["n"]}))


def test_a_task_kept_in_place_is_prepared_in_its_senders_commit_round_trip(
        rt: Any, round_trips: list[int]) -> None:
    """The turn's end and the kept task's first writes go behind the commit: one round
    trip after the begin, and the task runs here with those writes' replies."""
    system = rt.system
    if not system.mailbox_in_redis or not system.single_server:
        pytest.skip("the release reads the mailbox's length only when it is a Redis list")
    system.route("keeper-", _Dispatcher())
    actor_id = f"keeper-{uuid.uuid4().hex[:8]}"
    keys = system.actor_keys(actor_id)
    counter = f"{system.prefix}:test:kept:{actor_id}"
    ran: list[Any] = []
    system.in_place.accept("tests.kept-task", lambda task: True,
                           lambda task: ran.append((task.kwargs["n"], task.prepared)),
                           prepare=lambda task, writes: writes.add("INCR", counter))
    try:
        with system.in_place.running():
            assert InHandTurn(Message("go", actor_id, {"n": 7})).run(system)
            assert round_trips[0] == 2  # the begin; the commit with the end and the writes
            assert not system.redis.exists(keys.activation)  # released before it runs
            assert system.redis.hlen(keys.outbox) == 0  # its entry went with the commit
            assert ran == []
        assert ran == [(7, [1])]  # run here after the turn, with its write's reply
        assert system.redis.get(counter) == b"1"
    finally:
        system.redis.delete(*keys.every(), counter)
        system.redis.zrem(system.keys.lease_index_of(actor_id), actor_id)


def test_writes_behind_a_commit_that_fails_are_not_made(rt: Any) -> None:
    system = rt.system
    if not system.single_server:
        pytest.skip("one server: the writes' keys span hash tags")
    actor_id = f"keeper-{uuid.uuid4().hex[:8]}"
    keys = system.actor_keys(actor_id)
    counter = f"{system.prefix}:test:kept:{actor_id}"
    system.redis.set(keys.activation, "mine", px=10_000)

    def then(pipe: Any, commit_id: str) -> None:
        system.scripts.call_in(pipe, "if_committed", [keys.meta, counter],
                               [commit_id, "INCR", 0])

    try:
        with pytest.raises(actors.SequenceConflict):  # expects a seq the journal is not at
            system.journal(actor_id).commit_then("mine", 5, 10_000, [], [], [], None, then)
        assert system.redis.get(counter) is None
        seq, replies = system.journal(actor_id).commit_then("mine", 0, 10_000, [], [], [],
                                                            None, then)
        assert replies == [[1]] and system.redis.get(counter) == b"1"
    finally:
        system.redis.delete(*keys.every(), counter)


def test_a_turns_timers_are_scheduled_in_its_commits_round_trip(
        rt: Any, alarm: str, round_trips: list[int]) -> None:
    system = rt.system
    if not system.single_server:
        pytest.skip("one server: the timer's keys and the actor's span hash tags")
    keys = system.actor_keys(alarm)
    assert InHandTurn(Message("arm", alarm,
                                {"name": "later", "delay_ms": 86_400_000})).run(system)
    assert round_trips[0] == 2  # the begin; the commit with the timer and the release
    assert f"{alarm}:later" in system.timers.pending()
    assert system.redis.hlen(keys.outbox) == 0
    assert not system.redis.exists(keys.activation)
    assert not system.redis.exists(keys.dispatching)
