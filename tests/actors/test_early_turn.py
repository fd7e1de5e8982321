"""A turn decided before it begins (``actors.fast.early_turn``), against a real Redis.

Run in this process (no workers) with a behaviour that decides early, its turns
run as a due timer's are (``TimerTurn``: the flag taken, the message in hand).
Its state is cached by a first turn; the next turn then decides on the cached state
and sends its begin and commit in one round trip. Every way the guess can be wrong
is made to happen, and each must end as a turn without the guess would: a state the
journal moved past (another process's turn), a message already in the journal, a
dead turn task not yet accounted for, an actor taken over meanwhile, a handler that
raises. A step's result (``InHandTurn``) and a wake task delivered again are never
decided early: the message must be held, and a death counted, before the actor's
code runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from actors import Behaviour, Event, Message, MessageRejected, NewEvent, TurnContext
from actors.journal import Journal
from actors.turn_begin import InHandTurn, TimerTurn


class Tally:
    def __init__(self) -> None:
        self.total = 0
        self.recovered = 0


class TallyBehaviour(Behaviour[Tally]):
    """Adds numbers; ``boom`` raises; a dead turn task is recorded as ``recovered``."""

    decides_early = True

    def initial_state(self, actor_id: str) -> Tally:
        return Tally()

    def apply(self, state: Tally, event: Event) -> None:
        if event.type == "added":
            state.total += int(event.data["n"])
        elif event.type == "recovered":
            state.recovered += 1

    def handle(self, state: Tally, message: Message, ctx: TurnContext) -> None:
        if message.kind == "boom":
            raise RuntimeError("boom")
        if message.kind != "add":
            raise MessageRejected(f"unknown kind {message.kind!r}")
        state.total += int(message.payload["n"])
        ctx.emit("added", {"n": message.payload["n"], "total": state.total})

    def on_recovered(self, state: Tally, ctx: TurnContext, crashes: int) -> None:
        state.recovered += 1
        ctx.emit("recovered", {"crashes": crashes})


@pytest.fixture
def tally(rt: Any) -> Iterator[str]:
    system = rt.system
    system.route("tally-", TallyBehaviour())
    actor_id = f"tally-{uuid.uuid4().hex[:8]}"
    yield actor_id
    system.cache.evict(actor_id)
    system.redis.delete(*system.actor_keys(actor_id).every())
    system.redis.zrem(system.keys.lease_index_of(actor_id), actor_id)


def _turn(system: Any, message: Message, early: bool = True,
          taken_over: bool = False) -> bool:
    """Run a turn with ``message`` in hand as a due timer's is run; False when the actor
    was busy (or, ``taken_over``, is taken by another turn after its flag was won)."""
    [(actor_id, token)] = system._activate_all([message.actor_id])
    if token is None:
        return False
    if taken_over:
        system.redis.set(system.actor_keys(actor_id).activation, "another-turn", px=10_000)
    TimerTurn(actor_id, token, message.encode(), f"{actor_id}:t", early).run(system)
    return not taken_over


def _add(actor_id: str, n: int, msg_id: str | None = None) -> Message:
    return Message("add", actor_id, {"n": n}, msg_id=msg_id or uuid.uuid4().hex)


def _events(system: Any, actor_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.data) for e in system.journal(actor_id).read()]


def _no_separate_commit(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every commit that takes a round trip of its own (none should)."""
    separate: list[str] = []
    real = Journal.commit_then

    def commit_then(self: Journal, *args: Any, **kwargs: Any) -> Any:
        separate.append("commit")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Journal, "commit_then", commit_then)  # every commit of its own
    return separate


def _cached(rt: Any, actor_id: str, list_mailbox: bool = False) -> Any:
    """The system, after a first turn of ``actor_id`` left its state cached;
    ``list_mailbox``: the test reads the mailbox's Redis list (else it is skipped)."""
    system = rt.system
    if list_mailbox and not system.mailbox_in_redis:
        pytest.skip("the mailbox is not a Redis list here")
    _first_turn(system, actor_id)
    return system


def _first_turn(system: Any, actor_id: str) -> None:
    """A turn with nothing cached yet: an ordinary one, which leaves the state cached."""
    assert _turn(system, _add(actor_id, 1))
    cached = system.cache.take(actor_id)
    assert cached is not None and cached[1] == 1
    system.cache.put(actor_id, *cached)


def test_a_cached_actor_begins_and_commits_in_one_round_trip(
        rt: Any, tally: str, monkeypatch: pytest.MonkeyPatch) -> None:
    system = _cached(rt, tally)
    separate = _no_separate_commit(monkeypatch)
    assert _turn(system, _add(tally, 2))
    assert separate == []
    assert _events(system, tally) == [("added", {"n": 1, "total": 1}),
                                      ("added", {"n": 2, "total": 3})]
    state, seq = system.cache.take(tally)
    assert (state.total, seq) == (3, 2)
    keys = system.actor_keys(tally)
    assert not system.redis.exists(keys.activation)  # released
    assert not system.redis.exists(keys.inhand)


def test_a_state_the_journal_moved_past_is_thrown_away_and_the_turn_replays(
        rt: Any, tally: str, monkeypatch: pytest.MonkeyPatch) -> None:
    system = _cached(rt, tally)
    # Another process's turn commits meanwhile: this process's cached state is stale.
    keys = system.actor_keys(tally)
    system.redis.set(keys.activation, "elsewhere", px=10_000)
    system.journal(tally).commit("elsewhere", 1, 10_000,
                                 [NewEvent("added", {"n": 10, "total": 11})], ["m-other"], [])
    system.redis.delete(keys.activation)
    separate = _no_separate_commit(monkeypatch)
    assert _turn(system, _add(tally, 2))
    assert separate == ["commit"]  # the guess was not committed; the turn's own commit was
    assert _events(system, tally) == [("added", {"n": 1, "total": 1}),
                                      ("added", {"n": 10, "total": 11}),
                                      ("added", {"n": 2, "total": 13})]


def test_a_message_already_in_the_journal_is_dropped(rt: Any, tally: str) -> None:
    system = _cached(rt, tally)
    again = _add(tally, 5, msg_id="m-twice")
    assert _turn(system, again)
    assert _turn(system, again)  # a redelivery: its msg_id is in the journal
    assert [data["n"] for _, data in _events(system, tally)] == [1, 5]
    assert not system.redis.exists(system.actor_keys(tally).inhand)


def test_a_dead_turn_task_is_recorded_before_the_message_is_handled(
        rt: Any, tally: str) -> None:
    system = _cached(rt, tally)
    # A turn task of this actor died mid-turn: its meta still says it is running.
    system.redis.hset(system.actor_keys(tally).meta, "running", "a-dead-token")
    assert _turn(system, _add(tally, 2))
    assert [t for t, _ in _events(system, tally)] == ["added", "recovered", "added"]
    assert not system.redis.hexists(system.actor_keys(tally).meta, "crashes")


def test_an_actor_taken_over_gets_the_message_in_its_mailbox_and_nothing_is_written(
        rt: Any, tally: str) -> None:
    system = _cached(rt, tally, list_mailbox=True)
    keys = system.actor_keys(tally)
    assert not _turn(system, _add(tally, 2), taken_over=True)
    assert len(_events(system, tally)) == 1
    assert system.cache.take(tally) is None  # the decision changed it: dropped
    assert not system.redis.exists(keys.inhand)
    assert system.redis.llen(keys.mailbox) == 1  # delivered the usual way


def test_a_handler_that_raises_is_handled_by_the_ordinary_turn(rt: Any, tally: str) -> None:
    system = _cached(rt, tally)
    before = system.dead_letters.count()
    boom = Message("boom", tally, {}, msg_id=uuid.uuid4().hex)
    assert _turn(system, boom)
    assert system.dead_letters.count() == before + 1  # set aside once, by the turn
    assert len(_events(system, tally)) == 1
    assert _turn(system, _add(tally, 2))  # and the actor goes on
    assert [data["n"] for _, data in _events(system, tally)] == [1, 2]


def test_a_decision_with_nothing_to_dispatch_ends_the_turn_in_the_same_round_trip(
        rt: Any, tally: str, round_trips: list[int]) -> None:
    system = _cached(rt, tally, list_mailbox=True)
    [(_, token)] = system._activate_all([tally])  # as the timer loop does
    round_trips[0] = 0
    TimerTurn(tally, token, _add(tally, 2).encode(), f"{tally}:t").run(system)
    assert round_trips[0] == 1  # begin, commit and release
    keys = system.actor_keys(tally)
    assert not system.redis.exists(keys.activation)
    assert system.redis.zscore(system.keys.lease_index_of(tally), tally) is None  # idle
    assert [data["n"] for _, data in _events(system, tally)] == [1, 2]


def test_a_message_waiting_at_that_release_is_taken_back_and_handled(
        rt: Any, tally: str) -> None:
    system = _cached(rt, tally, list_mailbox=True)
    keys = system.actor_keys(tally)
    system.mailbox.put(keys.mailbox, _add(tally, 40))  # its sender found the actor busy
    assert _turn(system, _add(tally, 2))
    assert [data["n"] for _, data in _events(system, tally)] == [1, 2, 40]
    assert not system.redis.exists(keys.activation)


def test_a_message_a_dead_hand_over_left_is_handled_after_that_release(
        rt: Any, tally: str) -> None:
    system = _cached(rt, tally, list_mailbox=True)
    keys = system.actor_keys(tally)
    system.redis.set(keys.inhand, _add(tally, 7).encode())  # a hand-over whose task died
    assert _turn(system, _add(tally, 2))
    assert sorted(data["n"] for _, data in _events(system, tally)) == [1, 2, 7]
    assert not system.redis.exists(keys.activation)
    assert system.redis.llen(keys.mailbox) == 0


def test_a_steps_result_is_held_before_the_actors_code_runs(
        rt: Any, tally: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only this process has a step's result until a begin holds it: code that kills the
    process must find it held (and its death counted), so it is not decided early."""
    system = _cached(rt, tally)
    separate = _no_separate_commit(monkeypatch)
    assert InHandTurn(_add(tally, 2)).run(system)
    assert separate == ["commit"]
    assert [data["n"] for _, data in _events(system, tally)] == [1, 2]


def test_a_wake_task_delivered_again_begins_before_deciding(
        rt: Any, tally: str, monkeypatch: pytest.MonkeyPatch) -> None:
    system = _cached(rt, tally)
    separate = _no_separate_commit(monkeypatch)
    assert _turn(system, _add(tally, 2), early=False)
    assert separate == ["commit"]
    assert [data["n"] for _, data in _events(system, tally)] == [1, 2]
