"""What an actor's turn does with mailbox entries it must not act on.

A malformed entry, or a message addressed to another actor, is dead-lettered once,
before it touches the behaviour, and the actor goes on; a parked run records no
more recoveries while it waits for an operator.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors import Message
from actors.keys import GlobalKeys
from actors.mailbox import Mailbox
from actors.transport_guard import route_dead_letters
from pyworkflow.config import redis_client
from tests._workers import Worker, wait_for, worker_pool

MODULE = "tests.toy_actors"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "mbox", count=1, pool="threads", concurrency=2) as pool:
        yield pool


def _deposits(rt, actor_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [e.data["amount"] for e in rt.system.journal(actor_id).iter_all()
            if e.type == "deposited"]


def _letters(rt, actor_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return rt.system.dead_letters.list(10_000, actor_id=actor_id)  # type: ignore[no-any-return]


def test_an_envelope_whose_body_is_a_huge_integer_is_dead_lettered(  # type: ignore[no-untyped-def]
        rt, workers) -> None:
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    system = rt.system
    mailbox = system.actor_keys(actor_id).mailbox
    system.send(actor_id, "deposit", {"amount": 1})
    rt.redis.lpush(mailbox, json.dumps({"body": 10**20, "properties": {}}))
    system.send(actor_id, "deposit", {"amount": 2})

    wait_for(lambda: _deposits(rt, actor_id) == [1, 2], 20, 0.05, "both deposits")
    (letter,) = wait_for(lambda: _letters(rt, actor_id), 5, 0.05, "a dead letter")
    assert "string body" in letter["reason"]
    assert "100000000000000000000" in letter["raw"]
    assert letter["queue"] == mailbox
    assert rt.redis.hget(system.actor_keys(actor_id).meta, "crashes") is None  # no turn died
    wait_for(lambda: not system.is_active(actor_id), 10, 0.05, "the actor to go idle")
    assert rt.redis.llen(mailbox) == 0


def test_a_message_for_another_actor_does_not_act_on_this_one(  # type: ignore[no-untyped-def]
        rt, workers) -> None:
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    other_id = f"account-{uuid.uuid4().hex[:8]}"
    system = rt.system
    forged = Message(kind="deposit", actor_id=other_id, payload={"amount": 50})
    system.mailbox.put(system.actor_keys(actor_id).mailbox, forged)
    system.send(actor_id, "deposit", {"amount": 1})

    wait_for(lambda: _deposits(rt, actor_id) == [1], 20, 0.05, "the real deposit")
    (letter,) = wait_for(lambda: _letters(rt, actor_id), 5, 0.05, "a dead letter")
    assert letter["reason"] == (f"addressed to actor {other_id!r}, found in the mailbox of "
                                f"{actor_id!r}")
    assert forged.msg_id in letter["raw"]
    wait_for(lambda: not system.is_active(actor_id), 10, 0.05, "the actor to go idle")
    assert _deposits(rt, actor_id) == [1]
    assert _deposits(rt, other_id) == []


def test_a_malformed_message_is_dead_lettered_once_when_its_batch_is_abandoned(  # type: ignore[no-untyped-def]
        rt, workers) -> None:
    """One batch: a malformed entry, a message whose handler raises (the batch is given
    back uncommitted) and a good one. The malformed entry must not come back with it."""
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    system = rt.system
    mailbox = system.actor_keys(actor_id).mailbox
    marker = uuid.uuid4().hex
    system.mailbox.put_raw(mailbox, f"garbage {marker}")
    system.mailbox.put(mailbox, Message("withdraw", actor_id, {"amount": "x"}))  # int("x")
    system.mailbox.put(mailbox, Message("deposit", actor_id, {"amount": 4}))
    system.activate(actor_id)

    wait_for(lambda: _deposits(rt, actor_id) == [4], 20, 0.05, "the deposit")
    wait_for(lambda: not system.is_active(actor_id), 10, 0.05, "the actor to go idle")
    letters = _letters(rt, actor_id)
    assert len([d for d in letters if marker in d["raw"]]) == 1, letters
    assert len([d for d in letters if "handler raised ValueError" in d["reason"]]) == 1


def test_an_outage_in_a_handler_loses_nothing_and_sets_nothing_aside(  # type: ignore[no-untyped-def]
        rt, workers) -> None:
    """A handler that hits a down Redis (here CLUSTERDOWN, twice) is not the message's
    fault: no dead letter; the turn fails, the actor is taken over when its lease runs
    out, and the same message is handled once Redis answers."""
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    rt.system.send(actor_id, "flaky", {"times": 2})
    rt.system.send(actor_id, "deposit", {"amount": 3})
    done = wait_for(lambda: [e for e in rt.system.journal(actor_id).iter_all()
                             if e.type == "flaky_done"], 60, 0.1, "the flaky message handled")
    assert done[0].data["attempts"] == 3
    wait_for(lambda: _deposits(rt, actor_id) == [3], 20, 0.05, "the deposit")
    assert _letters(rt, actor_id) == []


def test_kombu_mailbox_path_dead_letters_entries_kombu_cannot_parse(rt) -> None:  # type: ignore[no-untyped-def]
    """The generic (any broker) take: an entry that is not an envelope does not raise
    out of ``Mailbox.take``; it is dead-lettered and the messages after it are taken."""
    # The sink is per process (the newest ActorSystem's); other tests build runtimes on
    # Redis servers of their own and stop them: send this test's letters to its Redis.
    route_dead_letters(rt.system.dead_letter_from_queue)
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    keys = GlobalKeys(rt.settings.key_prefix)
    queue = keys.for_actor(actor_id).mailbox
    mailbox = Mailbox(os.environ["PYWORKFLOW_REDIS_URL"], keys)
    good = Message("deposit", actor_id, {"amount": 1})
    mailbox.put(queue, good)
    rt.redis.lpush(queue, b"\xff not an envelope")  # taken first (Kombu pops the right end)
    rt.redis.lpush(queue, b"\xff not an envelope")
    rt.redis.rpush(queue, b"\xff not an envelope")

    taken: list[Any] = []
    for _ in range(5):  # an unreadable entry ends a take early ("nothing this time")
        taken += mailbox.take(queue, 10)
    assert [Message.decode(m.body).msg_id for m in taken] == [good.msg_id]
    for m in taken:
        m.ack()
    letters = _letters(rt, actor_id)
    assert rt.redis.llen(queue) == 0
    assert len(letters) == 3 and all(d["reason"].startswith("not a Kombu message envelope")
                                     for d in letters)


def test_the_same_message_twice_in_one_batch_is_handled_once(  # type: ignore[no-untyped-def]
        rt, workers) -> None:
    """A sender that retried a send (same msg_id) while the actor had not taken the
    first copy yet: both copies are in one batch, and the message acts once."""
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    system = rt.system
    mailbox = system.actor_keys(actor_id).mailbox
    twice = Message("deposit", actor_id, {"amount": 5})
    system.mailbox.put(mailbox, twice)
    system.mailbox.put(mailbox, twice)
    system.mailbox.put(mailbox, Message("deposit", actor_id, {"amount": 6}))
    system.activate(actor_id)
    wait_for(lambda: 6 in _deposits(rt, actor_id), 20, 0.05, "the last deposit")
    wait_for(lambda: not system.is_active(actor_id), 10, 0.05, "the actor to go idle")
    assert _deposits(rt, actor_id) == [5, 6]
    assert rt.redis.llen(mailbox) == 0


def test_the_unacked_sweep_reads_a_broker_apart_from_the_journal(rt) -> None:  # type: ignore[no-untyped-def]
    """A turn that died between taking a mailbox message and recording its tag leaves it
    in Kombu's unacknowledged set, on the broker. With the broker apart from the
    journal's Redis (another database here; another server with a Redis Cluster), the
    sweep must read the broker's set and put the message back."""
    url = os.environ["PYWORKFLOW_REDIS_URL"]
    if not url.startswith("redis://"):
        pytest.skip("needs a TCP Redis to name a second database")
    broker_url = url.rsplit("/", 1)[0] + "/7"
    keys = GlobalKeys(f"{rt.settings.key_prefix}-apart")
    mailbox = Mailbox(broker_url, keys)
    broker = redis_client(broker_url)
    queue = keys.for_actor(f"account-{uuid.uuid4().hex[:8]}").mailbox
    try:
        message = Message("deposit", "x", {"amount": 1})
        mailbox.put(queue, message)
        (taken,) = mailbox.take(queue, 1)  # taken, never acknowledged: its turn "died"
        tags: list[bytes] = broker.zrange(keys.mailbox_unacked_index, 0, -1)  # type: ignore[assignment]
        assert len(tags) == 1
        broker.zadd(keys.mailbox_unacked_index, {tags[0]: 1.0})  # taken long ago
        assert mailbox.sweep_unacked(rt.redis) == {queue}  # given the journal's client
        (again,) = mailbox.take(queue, 1)
        assert Message.decode(again.body).msg_id == message.msg_id
        again.ack()
    finally:
        for key in broker.scan_iter(match=f"{keys.prefix}*"):
            broker.delete(key)
        broker.delete(queue)
