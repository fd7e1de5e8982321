"""Which runs a worker keeps in its state cache (``RunBehaviour.worth_caching``): no
Redis, the in-memory ports; a sleep's wake time is the run's clock plus its length."""

from __future__ import annotations

from pyworkflow import sleep, step, workflow
from tests.engine.harness import Harness


@step()
async def noop() -> int:
    return 1


@workflow(name="cache_short_sleep")
async def short_sleep() -> int:
    await sleep("5s")
    return await noop()


@workflow(name="cache_long_sleep")
async def long_sleep() -> int:
    await sleep("2h")
    return await noop()


def test_a_run_with_a_step_in_flight_or_a_short_sleep_is_kept() -> None:
    h = Harness("run-short")
    h.send("start", workflow="cache_short_sleep", args=[], kwargs={})
    assert h.behaviour.worth_caching(h.state)  # asleep for 5 s: it wakes soon
    (task,) = h.steps(h.send("timer-fired", purpose="sleep", call_id=1))
    assert h.behaviour.worth_caching(h.state)  # a step in flight
    h.complete(task, 1)
    assert not h.behaviour.worth_caching(h.state)  # finished


def test_a_run_asleep_for_long_is_not_kept_and_still_wakes_by_replay() -> None:
    h = Harness("run-long")
    h.send("start", workflow="cache_long_sleep", args=[], kwargs={})
    assert not h.behaviour.worth_caching(h.state)
    again = h.rebuilt()  # its wake-up replays the journal
    (task,) = again.steps(again.send("timer-fired", purpose="sleep", call_id=1))
    assert again.behaviour.worth_caching(again.state)
    again.complete(task, 1)
    assert again.record["status"] == "completed"
