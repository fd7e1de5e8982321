"""The journal's promises, checked directly against Redis (no workers)."""

from __future__ import annotations

import uuid

import pytest

from actors import LeaseLost, Message, NewEvent, Send, SequenceConflict
from actors.message import MalformedMessage


def _owned_actor(rt):  # type: ignore[no-untyped-def]
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    keys = rt.system.actor_keys(actor_id)
    token = uuid.uuid4().hex
    rt.redis.set(keys.activation, token, px=60_000)
    return actor_id, token


def test_commit_appends_in_order_with_seq_ids(rt) -> None:  # type: ignore[no-untyped-def]
    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    assert journal.commit(token, 0, 60_000, [NewEvent("a"), NewEvent("b")], ["m1"], []) == 2
    assert journal.commit(token, 2, 60_000, [NewEvent("c", {"x": 1})], ["m2"], []) == 3
    events = journal.read()
    assert [(e.seq, e.type) for e in events] == [(1, "a"), (2, "b"), (3, "c")]
    assert journal.read(2)[0].data == {"x": 1}
    assert journal.seen(["m1", "m2", "m3"]) == [True, True, False]


def test_commit_with_stale_expected_seq_writes_nothing(rt) -> None:  # type: ignore[no-untyped-def]
    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a")], ["m1"], [])
    effect = ("0.0", Send("x", "k", {}, "id"))
    with pytest.raises(SequenceConflict) as info:
        journal.commit(token, 0, 60_000, [NewEvent("dup")], ["m2"], [effect])
    assert info.value.actual_seq == 1
    assert [e.type for e in journal.read()] == ["a"]
    assert journal.seen(["m2"]) == [False]
    assert rt.redis.hlen(rt.system.actor_keys(actor_id).outbox) == 0


def test_commit_without_the_lease_writes_nothing(rt) -> None:  # type: ignore[no-untyped-def]
    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    with pytest.raises(LeaseLost):
        journal.commit("not-the-owner", 0, 60_000, [NewEvent("a")], ["m1"], [])
    rt.redis.delete(rt.system.actor_keys(actor_id).activation)
    with pytest.raises(LeaseLost):
        journal.commit(token, 0, 60_000, [NewEvent("a")], ["m1"], [])
    assert journal.read() == []
    assert journal.last_seq() == 0


def test_commit_stages_effects_in_the_outbox(rt) -> None:  # type: ignore[no-untyped-def]
    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    journal.commit(token, 0, 60_000, [NewEvent("a")], [],
                   [("0.0", Send("other", "ping", {"n": 1}, "mid"))])
    staged = rt.redis.hgetall(rt.system.actor_keys(actor_id).outbox)
    assert list(staged) == [b"0.0"]
    assert b'"ping"' in staged[b"0.0"]


@pytest.mark.parametrize("raw,reason", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"kind": "x"}', "missing fields"),
    (b'{"msg_id": "", "kind": "k", "actor_id": "a", "payload": {}, "sent_at": 1}', "msg_id"),
    (b'{"msg_id": "m", "kind": "k", "actor_id": "a", "payload": [], "sent_at": 1}', "payload"),
])
def test_malformed_messages_are_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        Message.decode(raw)


def test_message_round_trip() -> None:
    m = Message(kind="deposit", actor_id="account-1", payload={"amount": 3})
    assert Message.decode(m.encode()) == m


def test_a_retried_commit_whose_reply_was_lost_counts_as_done(rt) -> None:  # type: ignore[no-untyped-def]
    actor_id, token = _owned_actor(rt)
    journal = rt.system.journal(actor_id)
    keys = rt.system.actor_keys(actor_id)
    args = [token, 0, 60_000, "commit-1", 1, NewEvent("a").encode(), 1, "m1", 0, 0]
    script_keys = [keys.journal, keys.activation, keys.seen, keys.outbox, keys.record,
                   keys.inhand, keys.taken, keys.meta]
    assert list(rt.system.scripts.commit(keys=script_keys, args=args)) == [1, 1]
    # The very same call again (redis-py retrying after a lost reply): done, not doubled.
    assert list(rt.system.scripts.commit(keys=script_keys, args=args)) == [1, 1]
    assert [e.type for e in journal.read()] == ["a"]
    # Another commit expecting the same seq is still refused.
    with pytest.raises(SequenceConflict):
        journal.commit(token, 0, 60_000, [NewEvent("b")], ["m2"], [])
