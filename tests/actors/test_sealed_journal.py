"""A sealed journal's promises (``actors.sealed``, ``actors.compaction``, ``seal.lua``).

The codec and the one reader (``sealed.merge``) are checked without Redis; the seal
itself against the real Redis, with no workers: it writes nothing when the journal
moved on after the read, a commit after a seal goes on at the next seq (the commit
and the begin find where a sealed journal ends), and every read is the same events.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from actors import NewEvent, SequenceConflict
from actors import sealed as sealed_codec
from actors.compaction import seal
from actors.event import Event


def _events(n: int, first: int = 1) -> list[Event]:
    return [Event(seq, f"t{seq}", {"i": seq, "text": "x" * 40}, 1_700_000_000.0 + seq,
                  msg_id=f"m{seq}") for seq in range(first, first + n)]


def _entry(event: Event) -> tuple[bytes, dict[bytes, bytes]]:
    raw = NewEvent(event.type, event.data, event.msg_id, event.ts).encode().encode()
    return f"{event.seq}-0".encode(), {b"e": raw}


ACTOR = "account-1"


def test_sealed_value_reads_back_the_same_events_smaller() -> None:
    events = _events(12)
    value = sealed_codec.encode(events, ACTOR)
    assert sealed_codec.events_of(value, ACTOR) == events
    assert len(value) < sum(len(_entry(e)[1][b"e"]) for e in events) / 4


def test_times_and_message_ids_read_back_exactly_whatever_they_are() -> None:
    odd = [Event(1, "a", {}, 1.0000000000000002, msg_id=f"{ACTOR}:start"),
           Event(2, "b", {"x": None}, 0.1, msg_id="~not-relative"),
           Event(3, "c", {}, 1_796_610_471.3791952, msg_id=None),
           Event(4, "d", {}, 1_796_610_471.3792894, msg_id="=other")]
    assert sealed_codec.events_of(sealed_codec.encode(odd, ACTOR), ACTOR) == odd
    epoch = [Event(i, "e", {}, 1_796_610_471.3791952 + i / 1000, msg_id=f"{ACTOR}:{i}")
             for i in range(1, 20)]
    assert sealed_codec.events_of(sealed_codec.encode(epoch, ACTOR), ACTOR) == epoch


def test_a_preset_dictionary_shrinks_a_run_journal_and_is_needed_to_read_it() -> None:
    from pyworkflow.journal_dictionary import RUN_JOURNAL_DICTIONARY

    run = "run-4612ba0b972843bd8121"
    steps = [Event(1, "workflow_started", {"workflow": "three", "args": [], "kwargs": {}},
                   1_796_610_391.549913, f"{run}:start")]
    for call in (1, 2, 3):
        steps.append(Event(len(steps) + 1, "step_scheduled", {
            "call_id": call, "step": "add", "attempt": 1, "args": [call], "kwargs": {},
            "max_attempts": 4, "retry_delay": "exponential", "timeout": None},
            1_796_610_391.55 + call / 100, f"{run}:{call - 1}:1:result"))
        steps.append(Event(len(steps) + 1, "step_completed", {
            "call_id": call, "step": "add", "attempt": 1, "result": call},
            1_796_610_391.556 + call / 100, f"{run}:{call}:1:result"))
    plain = sealed_codec.encode(steps, run)
    small = sealed_codec.encode(steps, run, RUN_JOURNAL_DICTIONARY)
    assert sealed_codec.events_of(small, run) == steps
    assert len(small) < 0.75 * len(plain), (len(small), len(plain))
    with pytest.raises(sealed_codec.SealedJournalError):
        sealed_codec.events_of(small[:1] + bytes([200]) + small[2:], run)


def test_merge_reads_the_sealed_prefix_then_the_stream_from_any_point() -> None:
    value = sealed_codec.encode(_events(5), ACTOR)
    stream = [_entry(e) for e in _events(3, first=6)]
    every = sealed_codec.merge(value, stream, ACTOR)
    assert every == _events(8)
    assert [e.seq for e in sealed_codec.merge(value, stream[1:], ACTOR, after_seq=6)] == [7, 8]
    assert [e.seq for e in sealed_codec.merge(value, stream, ACTOR, after_seq=2,
                                              count=4)] == [3, 4, 5, 6]
    assert [e.seq for e in sealed_codec.merge(None, stream, ACTOR)] == [6, 7, 8]
    # A read that crosses a seal (the stream still holds sealed events): none twice.
    overlap = [_entry(e) for e in _events(8)]
    assert [e.seq for e in sealed_codec.merge(value, overlap, ACTOR)] == list(range(1, 9))


def _owned_actor(rt: Any) -> tuple[str, str]:
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    token = uuid.uuid4().hex
    rt.redis.set(rt.system.actor_keys(actor_id).activation, token, px=60_000)
    return actor_id, token


@pytest.mark.redis
def test_a_commit_after_a_seal_goes_on_at_the_next_seq(rt: Any) -> None:
    actor_id, token = _owned_actor(rt)
    journal, keys = rt.system.journal(actor_id), rt.system.actor_keys(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a"), NewEvent("b", {"x": 1})], ["m1"], [])
    assert seal(rt.system, {actor_id: 0}) == 1
    assert not rt.redis.exists(keys.journal) and rt.redis.exists(keys.sealed)
    assert journal.last_seq() == 2 and rt.redis.sismember(keys.seen, "m1")
    with pytest.raises(SequenceConflict) as info:  # the commit knows where it ends
        journal.commit(token, 0, 60_000, [NewEvent("dup")], ["m2"], [])
    assert info.value.actual_seq == 2
    assert journal.commit(token, 2, 60_000, [NewEvent("c")], ["m2"], []) == 3
    assert [(e.seq, e.type) for e in journal.read()] == [(1, "a"), (2, "b"), (3, "c")]
    assert [e.seq for e in journal.read(1)] == [2, 3]
    assert [e.seq for e in journal.iter_all(page=1)] == [1, 2, 3]
    # Ended at 3, then sealed again: prefix and stream fold into one, and the seen set
    # and the last commit's id go (nothing came after the end).
    assert seal(rt.system, {actor_id: 3}) == 1
    assert not rt.redis.hexists(keys.meta, "last_commit")
    assert [(e.seq, e.type) for e in journal.read()] == [(1, "a"), (2, "b"), (3, "c")]
    assert not rt.redis.exists(keys.journal) and not rt.redis.exists(keys.seen)
    assert rt.system.forget(actor_id) is False  # still owned here
    rt.redis.delete(keys.activation)
    assert rt.system.forget(actor_id) is True
    assert not rt.redis.exists(keys.sealed) and journal.read() == []


@pytest.mark.redis
def test_a_seal_that_loses_a_race_with_a_commit_writes_nothing(rt: Any) -> None:
    actor_id, token = _owned_actor(rt)
    journal, keys = rt.system.journal(actor_id), rt.system.actor_keys(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a")], ["m1"], [])
    stale = sealed_codec.encode(journal.read(), actor_id)
    journal.commit(token, 1, 60_000, [NewEvent("b")], ["m2"], [])
    replies = rt.system.scripts.pipeline(lambda pipe: rt.system.scripts.call_in(
        pipe, "seal", [keys.journal, keys.sealed, keys.meta, keys.seen], [1, stale, 1, 0]))
    assert replies == [0]
    assert not rt.redis.exists(keys.sealed) and rt.redis.xlen(keys.journal) == 2
    assert rt.redis.sismember(keys.seen, "m2")


@pytest.mark.redis
def test_a_seal_read_across_another_seal_writes_nothing(rt: Any) -> None:
    """Two processes seal one journal: the one whose read crossed the other's seal (it
    read no sealed value, then only the events appended after that seal) must not write
    those events alone as the journal."""
    actor_id, token = _owned_actor(rt)
    journal, keys = rt.system.journal(actor_id), rt.system.actor_keys(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a"), NewEvent("b")], ["m1"], [])
    assert seal(rt.system, {actor_id: 0}) == 1  # the other process's seal: 1..2
    journal.commit(token, 2, 60_000, [NewEvent("c")], ["m2"], [])
    after_only = sealed_codec.encode([e for e in journal.read() if e.seq == 3], actor_id)
    replies = rt.system.scripts.pipeline(lambda pipe: rt.system.scripts.call_in(
        pipe, "seal", [keys.journal, keys.sealed, keys.meta, keys.seen], [3, after_only, 0, 0]))
    assert replies == [0]
    assert [e.type for e in journal.read()] == ["a", "b", "c"]
    assert seal(rt.system, {actor_id: 0}) == 1  # a read of the whole journal seals it
    assert [e.type for e in journal.read()] == ["a", "b", "c"]
    assert not rt.redis.exists(keys.journal)


@pytest.mark.redis
def test_an_actor_that_went_on_after_its_end_keeps_its_seen_set(rt: Any) -> None:
    """Noted as ended at 1, then re-opened (an operator's retry) before the seal: the seal
    folds the retry in but keeps what a live actor needs."""
    actor_id, token = _owned_actor(rt)
    journal, keys = rt.system.journal(actor_id), rt.system.actor_keys(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("ended")], ["m1"], [])
    journal.commit(token, 1, 60_000, [NewEvent("retried")], ["m2"], [])
    assert seal(rt.system, {actor_id: 1}) == 1
    assert [e.type for e in journal.read()] == ["ended", "retried"]
    assert rt.redis.smembers(keys.seen) == {b"m1", b"m2"}
    assert rt.redis.hexists(keys.meta, "last_commit")


@pytest.mark.redis
def test_a_turn_begins_at_the_end_of_a_sealed_journal(rt: Any) -> None:
    from actors.ownership import begin

    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a"), NewEvent("b"), NewEvent("c")], [], [])
    assert seal(rt.system, {actor_id: 0}) == 1
    begun = begin(rt.system, actor_id, token, activate=False)
    assert begun is not None and begun.last_seq == 3
