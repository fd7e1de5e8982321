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


def test_sealed_value_reads_back_the_same_events_smaller() -> None:
    events = _events(12)
    value = sealed_codec.encode(events)
    assert sealed_codec.events_of(value) == events
    assert len(value) < sum(len(_entry(e)[1][b"e"]) for e in events) / 4


def test_merge_reads_the_sealed_prefix_then_the_stream_from_any_point() -> None:
    value = sealed_codec.encode(_events(5))
    stream = [_entry(e) for e in _events(3, first=6)]
    every = sealed_codec.merge(value, stream)
    assert [e.seq for e in every] == list(range(1, 9))
    assert [e.seq for e in sealed_codec.merge(value, stream[1:], after_seq=6)] == [7, 8]
    assert [e.seq for e in sealed_codec.merge(value, stream, after_seq=2, count=4)] == [3, 4, 5,
                                                                                       6]
    assert [e.seq for e in sealed_codec.merge(None, stream)] == [6, 7, 8]
    # A read that crosses a seal (the stream still holds sealed events): none twice.
    overlap = [_entry(e) for e in _events(8)]
    assert [e.seq for e in sealed_codec.merge(value, overlap)] == list(range(1, 9))


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
    assert seal(rt.system, {actor_id: False}) == 1
    assert not rt.redis.exists(keys.journal) and rt.redis.exists(keys.sealed)
    assert journal.last_seq() == 2 and rt.redis.sismember(keys.seen, "m1")
    with pytest.raises(SequenceConflict) as info:  # the commit knows where it ends
        journal.commit(token, 0, 60_000, [NewEvent("dup")], ["m2"], [])
    assert info.value.actual_seq == 2
    assert journal.commit(token, 2, 60_000, [NewEvent("c")], ["m2"], []) == 3
    assert [(e.seq, e.type) for e in journal.read()] == [(1, "a"), (2, "b"), (3, "c")]
    assert [e.seq for e in journal.read(1)] == [2, 3]
    assert [e.seq for e in journal.iter_all(page=1)] == [1, 2, 3]
    # Sealed again (ended: the seen set goes too), prefix and stream fold into one.
    assert seal(rt.system, {actor_id: True}) == 1
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
    stale = sealed_codec.encode(journal.read())
    journal.commit(token, 1, 60_000, [NewEvent("b")], ["m2"], [])
    replies = rt.system.scripts.pipeline(lambda pipe: rt.system.scripts.call_in(
        pipe, "seal", [keys.journal, keys.sealed, keys.meta, keys.seen], [1, stale, "1"]))
    assert replies == [0]
    assert not rt.redis.exists(keys.sealed) and rt.redis.xlen(keys.journal) == 2
    assert rt.redis.sismember(keys.seen, "m2")


@pytest.mark.redis
def test_a_turn_begins_at_the_end_of_a_sealed_journal(rt: Any) -> None:
    from actors.ownership import begin

    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a"), NewEvent("b"), NewEvent("c")], [], [])
    assert seal(rt.system, {actor_id: False}) == 1
    begun = begin(rt.system, actor_id, token, activate=False)
    assert begun is not None and begun.last_seq == 3
