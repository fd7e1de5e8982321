"""The actor runtime's promises, with real ``pyworkflow worker run`` processes."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyworkflow import _runtime
from tests._workers import Worker, wait_for

MODULE = "tests.toy_actors"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    pool = [Worker(MODULE, log_dir, f"w{i}", pool="threads", concurrency=4).start(wait=False)
            for i in range(2)]
    for w in pool:
        w.wait_ready()
    yield pool
    for w in pool:
        w.stop()


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
