"""A dispatched step task lost on its way is sent again at its first check (10 s).

The watch on a dispatched attempt was a minute long: a task lost between the broker's
pop and Kombu's ``unacked`` write (its worker SIGKILLed at that moment) left its run
standing a minute (the chaos run saw it). Where the worker can read the queues'
backlog (the broker is the runs' Redis), the watch first looks after
``defaults.DISPATCH_CHECK_MS``: with nothing waiting in any step queue, the attempt is
in none and is sent again; with a backlog it may be among it, and is looked at again.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from actors import EnqueueTask
from pyworkflow import defaults, step, workflow
from pyworkflow.engine import memory_ports
from pyworkflow.ids import step_attempt
from pyworkflow.routing import DEFAULT_QUEUE, celery_queues
from pyworkflow.worker.hand_back import HandBack
from pyworkflow.worker.step_leases import StepLeases
from tests.engine.harness import QUEUES, Harness


@step()
async def dispatch_check_step() -> int:
    return 1


@workflow(name="dispatch_check_flow")
async def dispatch_check_flow() -> int:
    return await dispatch_check_step()


@pytest.mark.parametrize("watch_ms", [defaults.DISPATCH_CHECK_MS, defaults.QUEUED_WATCH_MS])
def test_the_engine_watches_a_dispatch_for_as_long_as_its_ports_say(watch_ms: int) -> None:
    h = Harness(f"run-{uuid.uuid4().hex[:8]}",
                memory_ports(queues=QUEUES, step_lease_key="leases", dispatch_watch_ms=watch_ms))
    ctx = h.send("start", workflow="dispatch_check_flow", args=[], kwargs={})
    (task,) = [e for e in ctx.effects if isinstance(e, EnqueueTask)]
    assert task.watch_ms == watch_ms and task.watch_key == "leases"


class _System:
    """What ``report_undelivered`` needs of the actor system: where messages go."""

    def __init__(self) -> None:
        self.delivered: list[Any] = []

    def deliver(self, message: Any) -> None:
        self.delivered.append(message)


@pytest.mark.redis
@pytest.mark.parametrize("waiting", [0, 7, None])
def test_an_unstarted_attempt_is_sent_again_only_when_no_step_queue_holds_anything(
        rt: Any, waiting: int | None) -> None:
    leases = StepLeases(rt.redis, f"dispatch-check-{uuid.uuid4().hex[:8]}")
    leases.backlogged = lambda: waiting
    member = step_attempt(f"run-{uuid.uuid4().hex[:8]}", 3, 1)
    system = _System()
    before = time.time() * 1000
    try:
        leases.report_undelivered(system, member)
        score = rt.redis.zscore(leases.key, member)
        assert score is not None
        if waiting:  # maybe still queued: not sent, looked at again at the next check
            assert system.delivered == []
            assert before + defaults.DISPATCH_CHECK_MS - 1000 <= score \
                <= time.time() * 1000 + defaults.DISPATCH_CHECK_MS
        else:  # in no queue (or unknown): sent again, watched a whole minute
            assert [m.kind for m in system.delivered] == ["step-undelivered"]
            assert score >= before + defaults.QUEUED_WATCH_MS - 1000
    finally:
        rt.redis.delete(leases.key)


@pytest.mark.redis
def test_the_step_backlog_counts_every_step_queue_and_is_read_at_most_once_a_while(
        rt: Any) -> None:
    hand_back = HandBack(rt.system, rt.settings.key_prefix)
    asked: list[str] = []

    def backlog(queue: str) -> int:
        asked.append(queue)
        return 2

    hand_back._backlog = backlog  # type: ignore[assignment]
    total = hand_back.steps_backlog()
    steps = celery_queues(rt.settings.key_prefix, DEFAULT_QUEUE)["steps"]
    assert steps in asked and len(asked) == len(set(asked))
    assert total == 2 * len(asked)
    assert hand_back.steps_backlog() == total and len(asked) == total // 2  # cached


@pytest.mark.redis
def test_a_claimed_watch_whose_handling_fails_is_watched_again(rt: Any) -> None:
    """Recovery claims an expired watch by removing it; a failure before it is handled
    (Redis going away between the two) must not leave the attempt watched by nobody."""
    leases = StepLeases(rt.redis, f"dispatch-check-{uuid.uuid4().hex[:8]}")

    def broken() -> int | None:
        raise ConnectionError("Redis went away")

    leases.backlogged = broken
    member = step_attempt(f"run-{uuid.uuid4().hex[:8]}", 2, 1)
    rt.redis.zadd(leases.key, {member: time.time() * 1000 - 1})
    try:
        with pytest.raises(ConnectionError):
            leases.recover_lost(_System())
        score = rt.redis.zscore(leases.key, member)
        assert score is not None and score <= time.time() * 1000 + 1000
    finally:
        rt.redis.delete(leases.key)
