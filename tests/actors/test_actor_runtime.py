"""The actor runtime's promises, with real ``pyworkflow worker run`` processes."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import Message
from pyworkflow.worker import _runtime
from tests._workers import Worker, wait_for, worker_pool

MODULE = "tests.toy_actors"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "w", pool="threads", concurrency=4) as pool:
        yield pool


def _events(rt, actor_id: str):  # type: ignore[no-untyped-def]
    return list(rt.system.journal(actor_id).iter_all())


def _send_deposits(env: dict[str, str], actor_id: str, start: int, count: int) -> None:
    os.environ.update(env)
    import tests.toy_actors  # noqa: F401

    system = _runtime.runtime().system
    for i in range(start, start + count):
        system.send(actor_id, "deposit", {"amount": 1, "ref": i}, msg_id=f"dep-{i}")


def test_1000_messages_from_4_processes_apply_once_in_one_order(  # type: ignore[no-untyped-def]
        rt, workers, redis_env) -> None:
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    ctx = multiprocessing.get_context("spawn")
    senders = [ctx.Process(target=_send_deposits, args=(redis_env, actor_id, i * 250, 250))
               for i in range(4)]
    for p in senders:
        p.start()
    for p in senders:
        p.join(120)
        assert p.exitcode == 0
    wait_for(lambda: rt.system.journal(actor_id).last_seq() >= 1000, 60, 0.2,
             "1,000 deposits in the journal")
    events = _events(rt, actor_id)
    assert [e.seq for e in events] == list(range(1, 1001))  # one total order, no gaps
    refs = [e.data["ref"] for e in events]
    assert sorted(refs) == list(range(1000))  # every message exactly once
    assert {e.msg_id for e in events} == {f"dep-{i}" for i in range(1000)}
    overlaps = rt.redis.get(f"{rt.settings.key_prefix}:toy:{actor_id}:overlaps")
    assert overlaps is None, f"{int(overlaps)} overlapping turns"
    # Turns of one sender's messages keep that sender's order.
    by_sender = [[r for r in refs if r // 250 == s] for s in range(4)]
    assert all(seq == sorted(seq) for seq in by_sender)
    # The actor went idle again: its flag is released.
    wait_for(lambda: not rt.system.is_active(actor_id), 10, 0.05, "actor to go idle")


def test_timer_2s_ahead_fires_between_2_and_3_seconds(rt, workers) -> None:  # type: ignore[no-untyped-def]
    actor_id = f"alarm-{uuid.uuid4().hex[:8]}"
    rt.system.send(actor_id, "arm", {"name": "two", "delay_ms": 2000})

    def rang():  # type: ignore[no-untyped-def]
        return [e for e in _events(rt, actor_id) if e.type == "rang"]

    (ring,) = wait_for(rang, 10, 0.05, "the timer to ring")
    (armed,) = [e for e in _events(rt, actor_id) if e.type == "armed"]
    late_ms = ring.data["at_ms"] - armed.data["due_ms"]
    assert ring.data["at_ms"] >= armed.data["due_ms"], "timer fired early"
    assert late_ms <= 1000, f"timer fired {late_ms} ms late"


def test_malformed_messages_are_set_aside_and_the_actor_goes_on(  # type: ignore[no-untyped-def]
        rt, workers) -> None:
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    system = rt.system
    queue = system.actor_keys(actor_id).mailbox
    before = system.dead_letters.count()
    system.send(actor_id, "deposit", {"amount": 5}, msg_id="good-1")
    system.mailbox.put_raw(queue, "this is not json")
    system.mailbox.put_raw(queue, '{"kind": "deposit", "payload": {}}')  # missing fields
    system.deliver(Message(kind="explode", actor_id=actor_id, payload={}, msg_id="bad-kind"))
    system.send(actor_id, "deposit", {"amount": 7}, msg_id="good-2")
    wait_for(lambda: system.journal(actor_id).last_seq() >= 2, 20, 0.05, "both deposits")
    wait_for(lambda: system.dead_letters.count() >= before + 3, 10, 0.05, "three dead letters")
    mine = [d for d in system.dead_letters.list(1000) if d["actor_id"] == actor_id]
    reasons = sorted(d["reason"].split(":")[0] for d in mine)
    assert reasons == ["missing fields", "not JSON", "rejected"], reasons
    assert any("this is not json" in d["raw"] for d in mine)
    events = _events(rt, actor_id)
    assert [(e.type, e.data["amount"]) for e in events] == [("deposited", 5), ("deposited", 7)]
    wait_for(lambda: system.mailbox.size(queue) == 0, 5, 0.05, "an empty mailbox")
