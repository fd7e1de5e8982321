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
from actors.in_hand import HeldMessage, InHand
from actors.kombu_reader import KombuReader
from actors.mailbox_reader import MailboxReader
from actors.redis_list_reader import RedisListReader

READERS = [RedisListReader, KombuReader]


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
