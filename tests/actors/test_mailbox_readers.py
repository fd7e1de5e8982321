"""The mailbox readers' promises, the same for each transport, checked against Redis.

A turn takes a batch and then acknowledges it, gives it back or lets go of it;
``RedisListReader`` (the broker is the runtime's Redis) and ``KombuReader`` (any
Kombu transport, here Kombu's Redis transport on the same server) must keep the
same promises, so the turn never needs to know which one it holds.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from actors import LeaseLost, Message
from actors.fast.in_hand import HeldMessage, InHand
from actors.kombu_reader import KombuReader
from actors.mailbox_reader import MailboxReader
from actors.redis_list_reader import RedisListReader

READERS = [RedisListReader, KombuReader]


#: a timer armed this far ahead never fires during a test session (whose keys go at
#: its end): it must not fire in a later test's worker, which runs no toy actors
DAY_MS = 86_400_000

def _nothing(pipe: Any) -> None:
    """What a turn queues beside a take (index, outbox): nothing, here."""


def _owned(rt: Any, reader_cls: type) -> tuple[MailboxReader[Any], str, Any]:
    actor_id = f"reader-{uuid.uuid4().hex[:8]}"
    keys = rt.system.actor_keys(actor_id)
    token = uuid.uuid4().hex
    rt.redis.set(keys.activation, token, px=60_000)
    return reader_cls(rt.system, keys), token, keys


def _put(rt: Any, keys: Any, n: int) -> list[str]:
    messages = [Message("ping", keys.actor_id, {"i": i}) for i in range(n)]
    for m in messages:
        rt.system.mailbox.put(keys.mailbox, m)
    return [m.msg_id for m in messages]


def _ids(taken: list[Any]) -> list[str]:
    return [t.decode().msg_id for t in taken]


@pytest.mark.parametrize("reader_cls", READERS)
def test_a_batch_given_back_is_taken_again_in_order(rt: Any, reader_cls: type) -> None:
    reader, token, keys = _owned(rt, reader_cls)
    sent = _put(rt, keys, 3)
    first = reader.take(token, 2, _nothing)
    assert _ids(first) == sent[:2]
    reader.give_back(first)
    again = reader.take(token, 10, _nothing)
    assert sorted(_ids(again)) == sorted(sent)
    if reader.length_key is not None:  # the Redis list keeps the order exactly
        assert _ids(again) == sent
    reader.give_back(again)


@pytest.mark.parametrize("reader_cls", READERS)
def test_a_message_set_aside_is_not_given_back(rt: Any, reader_cls: type) -> None:
    reader, token, keys = _owned(rt, reader_cls)
    sent = _put(rt, keys, 2)
    taken = reader.take(token, 10, _nothing)
    pipe = rt.redis.pipeline(transaction=False)
    taken[0].forget_in(pipe)  # what a dead letter does
    pipe.execute()
    taken[0].ack()
    reader.give_back(taken)
    assert _ids(reader.take(token, 10, _nothing)) == sent[1:]


@pytest.mark.parametrize("reader_cls", READERS)
def test_a_committed_batch_is_gone_for_good(rt: Any, reader_cls: type) -> None:
    reader, token, keys = _owned(rt, reader_cls)
    sent = _put(rt, keys, 2)
    taken = reader.take(token, 10, _nothing)
    rt.system.journal(keys.actor_id).commit(token, 0, 60_000, [], sent, [])
    reader.acknowledge(taken)
    assert reader.take(token, 10, _nothing) == []
    assert not rt.redis.exists(keys.taken, keys.inflight)
    assert all(t.acknowledged for t in taken)


@pytest.mark.parametrize("reader_cls", READERS)
def test_a_take_without_the_lease_takes_nothing_for_good(rt: Any, reader_cls: type) -> None:
    reader, token, keys = _owned(rt, reader_cls)
    sent = _put(rt, keys, 2)
    with pytest.raises(LeaseLost):
        reader.take("not-the-owner", 10, _nothing)
    rt.redis.delete(keys.inflight)  # what the owner's release does with stale tags
    assert sorted(_ids(reader.take(token, 10, _nothing))) == sorted(sent)


def test_a_message_in_hand_given_back_goes_to_the_mailbox(rt: Any) -> None:
    reader, token, keys = _owned(rt, RedisListReader)
    message = Message("ping", keys.actor_id, {})
    held = HeldMessage(message, keys.inhand)
    InHand(rt.system.mailbox, keys.mailbox).give_back([held])
    assert _ids(reader.take(token, 10, _nothing)) == [message.msg_id]
    assert held.acknowledged


def test_a_take_sent_again_returns_the_unanswered_batch(rt: Any) -> None:
    """The client sends a script again when its reply is lost (Redis restarting): the
    second take must return the batch the first one moved, not take more, or the commit
    would delete the first batch unhandled."""
    reader, token, keys = _owned(rt, RedisListReader)
    sent = _put(rt, keys, 3)
    first = reader.take(token, 2, _nothing)  # as if its reply never arrived
    again = reader.take(token, 2, _nothing)
    assert _ids(again) == _ids(first) == sent[:2]
    assert rt.redis.llen(keys.mailbox) == 1  # the third is still in the mailbox
    reader.give_back(again)
    assert _ids(reader.take(token, 10, _nothing)) == sent


def test_a_redis_take_reports_which_messages_the_journal_has_seen(rt: Any) -> None:
    """The take reads the seen set for each message whose sender named it in the
    envelope's headers (``Mailbox.put`` does), so the turn makes no round trip of its
    own for the redelivery check."""
    reader, token, keys = _owned(rt, RedisListReader)
    sent = _put(rt, keys, 2)
    rt.redis.sadd(keys.seen, sent[0])  # the first is already in the journal
    taken = reader.take(token, 10, _nothing)
    assert [t.seen_hint for t in taken] == [(sent[0], True), (sent[1], False)]


def test_an_envelope_without_or_with_a_forged_id_header_is_looked_up(
        rt: Any, captured_tasks: Any) -> None:
    """The header is a hint: a raw entry has none, and a forged one naming another id
    does not match the body's own msg_id; either way the turn looks the message up,
    and a message already in the journal is dropped whatever its header says."""
    import base64
    import json

    actor_id = f"alarm-{uuid.uuid4().hex[:8]}"
    keys = rt.system.actor_keys(actor_id)
    old = Message("arm", actor_id, {"name": "old", "delay_ms": DAY_MS})
    rt.redis.sadd(keys.seen, old.msg_id)  # already in the journal
    forged = {"body": base64.b64encode(old.encode().encode()).decode(),
              "headers": {"msg_id": "not-its-id"}, "properties": {"body_encoding": "base64"}}
    rt.redis.lpush(keys.mailbox, json.dumps(forged))
    new = Message("arm", actor_id, {"name": "new", "delay_ms": DAY_MS})
    rt.system.mailbox.put_raw(keys.mailbox, new.encode())  # no header at all
    token = uuid.uuid4().hex
    rt.redis.set(keys.activation, token, px=60_000)
    taken = RedisListReader(rt.system, keys).take(token, 10, _nothing)
    assert [t.seen_hint for t in taken] == [("not-its-id", False), None]
    RedisListReader(rt.system, keys).give_back(taken)
    rt.redis.delete(keys.activation)

    assert rt.system.activate(actor_id)
    while captured_tasks:
        name, args, kwargs = captured_tasks.pop(0)
        rt.celery.tasks[name].run(*args, **kwargs)
    armed = [e.data["name"] for e in rt.system.journal(actor_id).read() if e.type == "armed"]
    assert armed == ["new"]
