"""Tasks kept in place: what a task sends may run right after it, in the same process.

The slot's rules against a real Redis (its deferred commands go through real
pipelines): one task kept at a time, only accepted ones, only within the budget;
a task that cannot run here goes to the broker after all; commands put off for
the kept task ride on its first round trip, or run when the window closes.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from actors.fast.in_place import InPlaceTasks, KeptTask


def _task(name: str = "t", n: int = 0) -> KeptTask:
    return KeptTask(name, [n], {}, f"id-{n}", None)


@pytest.fixture
def slot(rt: Any) -> tuple[InPlaceTasks, list[KeptTask], list[KeptTask]]:
    published: list[KeptTask] = []
    ran: list[KeptTask] = []
    tasks = InPlaceTasks(published.append, rt.system.scripts.pipeline)
    tasks.accept("t", lambda task: task.args[0] >= 0, ran.append)
    return tasks, published, ran


def test_nothing_is_kept_outside_a_window(slot: Any) -> None:
    tasks, published, ran = slot
    assert tasks.offer(_task()) is False
    assert tasks.defer(lambda pipe: pipe.ping()) is False


def test_one_accepted_task_is_kept_and_run_after_the_body(slot: Any) -> None:
    tasks, published, ran = slot
    with tasks.running():
        assert tasks.offer(_task("other")) is False  # not accepted
        assert tasks.offer(_task(n=-1)) is False  # refused by its predicate
        assert tasks.offer(_task(n=1)) is True
        assert tasks.offer(_task(n=2)) is False  # the slot holds one
        assert ran == []  # not before the body is done
    assert [t.args[0] for t in ran] == [1]
    assert published == []


def test_a_spent_budget_keeps_nothing(rt: Any) -> None:
    tasks = InPlaceTasks(lambda task: None, rt.system.scripts.pipeline, budget_s=-1.0)
    tasks.accept("t", lambda task: True, lambda task: None)
    with tasks.running():  # a budget already spent as the window opens
        assert tasks.offer(_task()) is False


def test_kept_tasks_chain_within_the_budget(rt: Any) -> None:
    ran: list[int] = []
    tasks = InPlaceTasks(lambda task: None, rt.system.scripts.pipeline)

    def run(task: KeptTask) -> None:
        ran.append(task.args[0])
        if task.args[0] < 5:
            assert tasks.offer(_task(n=task.args[0] + 1))

    tasks.accept("t", lambda task: True, run)
    with tasks.running():
        assert tasks.offer(_task(n=1))
    assert ran == [1, 2, 3, 4, 5]


def test_a_body_that_raises_sends_its_kept_task_to_the_broker(slot: Any) -> None:
    tasks, published, ran = slot
    with pytest.raises(RuntimeError), tasks.running():
        assert tasks.offer(_task(n=7))
        raise RuntimeError("the sending task failed after sending")
    assert [t.args[0] for t in published] == [7]
    assert ran == []


def test_a_kept_task_that_raises_goes_to_the_broker(rt: Any) -> None:
    published: list[KeptTask] = []
    tasks = InPlaceTasks(published.append, rt.system.scripts.pipeline)

    def run(task: KeptTask) -> None:
        raise ConnectionError("Redis went away")

    tasks.accept("t", lambda task: True, run)
    with tasks.running():  # does not raise: the kept task is not the holder's failure
        assert tasks.offer(_task(n=3))
    assert [t.args[0] for t in published] == [3]


def test_deferred_commands_ride_on_the_kept_tasks_round_trip(rt: Any) -> None:
    key = f"{rt.settings.key_prefix}:test:in-place:{uuid.uuid4().hex[:8]}"
    seen: list[list[Any]] = []
    carried: list[Any] = []
    tasks = InPlaceTasks(lambda task: None, rt.system.scripts.pipeline)

    def run(task: KeptTask) -> None:
        ops = tasks.take_deferred()
        assert ops is not None
        pipe = rt.redis.pipeline(transaction=False)
        ops.build(pipe)
        pipe.get(key)
        carried.extend(ops.done(pipe.execute()))

    tasks.accept("t", lambda task: True, run)
    try:
        with tasks.running():
            assert tasks.offer(_task())
            def build(pipe: Any) -> None:
                pipe.set(key, "v")
                pipe.strlen(key)

            assert tasks.defer(build, after=seen.append)
            assert rt.redis.get(key) is None  # put off, not run
        assert seen == [[True, 1]]  # its own results
        assert carried == [b"v"]  # the taker's, after them
    finally:
        rt.redis.delete(key)


def test_deferred_commands_nobody_took_run_when_the_window_closes(slot: Any, rt: Any) -> None:
    tasks, published, ran = slot  # its runner does not take deferred commands
    key = f"{rt.settings.key_prefix}:test:in-place:{uuid.uuid4().hex[:8]}"
    try:
        with tasks.running():
            assert tasks.offer(_task())
            assert tasks.defer(lambda pipe: pipe.set(key, "late"))
        assert rt.redis.get(key) == b"late"
    finally:
        rt.redis.delete(key)
