"""The replay engine, driven directly through its in-memory ports: no Redis, no workers."""

from __future__ import annotations

import asyncio

import pytest

from actors import StartTimer
from pyworkflow import FatalError, StepFailedError, sleep, step, workflow
from tests.engine.harness import Harness

executions: list[str] = []


@step()
async def add(a: int, b: int) -> int:
    return a + b


@step(max_retries=2, retry_delay=[1, 2])
async def flaky() -> str:
    return "ok"


@workflow(name="replay_sequence")
async def sequence(x: int) -> int:
    executions.append("start")
    y = await add(x, 1)
    executions.append("after-first")
    z = await add(y, 1)
    await sleep("10s")
    return await add(z, 1)


@workflow(name="replay_gather")
async def fan_out(n: int) -> list[int]:
    return list(await asyncio.gather(*(add(i, i) for i in range(n))))


@workflow(name="replay_same_call_twice")
async def twice() -> list[int]:
    return [await add(1, 1), await add(1, 1)]


@workflow(name="replay_catches")
async def catches() -> str:
    try:
        return await flaky()
    except StepFailedError as exc:
        return f"gave up after {exc.attempts}: {exc.error_type}"


def run_sequence(h: Harness) -> None:
    (t1,) = h.steps(h.send("start", workflow="replay_sequence", args=[1], kwargs={}))
    (t2,) = h.steps(h.complete(t1, 2))
    ctx = h.complete(t2, 3)
    (timer,) = [e for e in ctx.effects if isinstance(e, StartTimer)]
    assert timer.due_ms >= h.journal[-1].data["wake_at_ms"]
    (t3,) = h.steps(h.send("timer-fired", purpose="sleep", call_id=3))
    h.complete(t3, 4)


def test_a_run_records_each_command_then_its_result() -> None:
    h = Harness()
    run_sequence(h)
    assert h.types() == [
        "workflow_started", "step_scheduled", "step_completed", "step_scheduled",
        "step_completed", "sleep_started", "sleep_completed", "step_scheduled",
        "step_completed", "workflow_completed"]
    assert h.journal[-1].data == {"result": 4}
    assert h.record["status"] == "completed"


def test_live_run_does_not_re_execute_code_for_past_history() -> None:
    executions.clear()
    run_sequence(Harness())
    assert executions == ["start", "after-first"]


def test_rebuilding_from_the_journal_replays_without_new_commands() -> None:
    h = Harness()
    (t1,) = h.steps(h.send("start", workflow="replay_sequence", args=[1], kwargs={}))
    h.complete(t1, 2)
    other = h.rebuilt()
    assert other.state.divergence is None
    # The rebuilt run goes on exactly where the first one was.
    ctx = other.send("step-completed", call_id=2, attempt=1, ok=True, result=3)
    assert [e.type for e in ctx.events] == ["step_completed", "sleep_started"]


def test_gather_dispatches_all_steps_in_one_turn() -> None:
    h = Harness()
    tasks = h.steps(h.send("start", workflow="replay_gather", args=[4], kwargs={}))
    assert [t["args"] for t in tasks] == [[0, 0], [1, 1], [2, 2], [3, 3]]
    for task in reversed(tasks):  # completions in any order
        h.complete(task, task["args"][0] * 2)
    assert h.journal[-1].type == "workflow_completed"
    assert h.journal[-1].data["result"] == [0, 2, 4, 6]
    assert h.rebuilt().state.divergence is None


def test_same_step_with_same_arguments_runs_twice() -> None:
    h = Harness()
    (t1,) = h.steps(h.send("start", workflow="replay_same_call_twice", args=[], kwargs={}))
    (t2,) = h.steps(h.complete(t1, 2))
    assert t2["call_id"] != t1["call_id"]
    h.complete(t2, 2)
    assert h.journal[-1].data["result"] == [2, 2]


def test_a_second_completion_of_a_step_is_ignored() -> None:
    h = Harness()
    (t1,) = h.steps(h.send("start", workflow="replay_sequence", args=[1], kwargs={}))
    h.complete(t1, 2)
    before = len(h.journal)
    ctx = h.complete(t1, 99)
    assert ctx.events == [] and len(h.journal) == before


# serial: two clock reads must fall within 5 ms of each other, which other tests'
# load can stretch
@pytest.mark.serial
def test_retries_wait_on_timers_then_the_workflow_sees_the_failure() -> None:
    h = Harness()
    (t1,) = h.steps(h.send("start", workflow="replay_catches", args=[], kwargs={}))
    for attempt, delay_ms in ((1, 1000), (2, 2000)):
        ctx = h.send("step-failed", call_id=t1["call_id"], attempt=attempt, ok=False,
                     error_type="ValueError", error="boom")
        (timer,) = [e for e in ctx.effects if isinstance(e, StartTimer)]
        failed = h.journal[-1]
        assert failed.type == "step_failed" and failed.data["will_retry"] is True
        assert timer.due_ms - delay_ms >= int(failed.ts * 1000) - 5
        ctx = h.send("timer-fired", purpose="retry", call_id=t1["call_id"], attempt=attempt + 1)
        (retry,) = h.steps(ctx)
        assert retry["attempt"] == attempt + 1
    h.send("step-failed", call_id=t1["call_id"], attempt=3, ok=False, error_type="ValueError",
           error="boom")
    assert h.journal[-1].type == "workflow_completed"
    assert h.journal[-1].data["result"] == "gave up after 3: ValueError"


def test_fatal_error_is_not_retried_and_fails_the_run_when_uncaught() -> None:
    h = Harness()
    (t1,) = h.steps(h.send("start", workflow="replay_sequence", args=[1], kwargs={}))
    ctx = h.send("step-failed", call_id=t1["call_id"], attempt=1, ok=False,
                 error_type="FatalError", error="no")
    assert not [e for e in ctx.effects if isinstance(e, StartTimer)]
    assert h.journal[-1].type == "workflow_failed"
    assert h.journal[-1].data["error_type"] == "FatalError"
    assert "FatalError" in h.journal[-1].data["traceback"]
    assert h.record["status"] == "failed"
    assert FatalError  # the class a workflow would catch


def test_changed_code_parks_the_run_naming_both_commands() -> None:
    h = Harness()
    (t1,) = h.steps(h.send("start", workflow="replay_sequence", args=[1], kwargs={}))
    h.complete(t1, 2)
    journal_before = list(h.journal)

    @workflow(name="replay_sequence")
    async def changed(x: int) -> int:  # a deploy that sleeps before the first step
        await sleep("1s")
        return await add(x, 1)

    try:
        other = h.rebuilt()
        ctx = other.send("step-completed", call_id=2, attempt=1, ok=True, result=3)
        (parked,) = [e for e in ctx.events if e.type == "workflow_parked"]
        assert parked.data["position"] == 1
        assert parked.data["recorded"] == "step 'add'"
        assert parked.data["issued"].startswith("sleep(")
        assert "non-determinism at command #1" in parked.data["reason"]
        assert other.record["status"] == "parked"
        assert other.journal[:len(journal_before)] == journal_before  # history untouched
    finally:
        workflow(name="replay_sequence")(sequence)


def test_unknown_workflow_parks_with_the_fix() -> None:
    h = Harness()
    h.send("start", workflow="no_such_workflow", args=[], kwargs={})
    assert h.journal[-1].type == "workflow_parked"
    assert "--module" in h.journal[-1].data["reason"]


def test_asyncio_sleep_in_a_workflow_is_refused_clearly() -> None:
    @workflow(name="replay_wall_clock")
    async def wall_clock() -> None:
        await asyncio.sleep(1)

    h = Harness()
    h.send("start", workflow="replay_wall_clock", args=[], kwargs={})
    assert h.journal[-1].type == "workflow_failed"
    assert "pyworkflow.sleep" in h.journal[-1].data["error"]


@pytest.mark.parametrize("n", [1, 30])
def test_replay_of_a_long_run_matches(n: int) -> None:
    h = Harness()
    tasks = h.steps(h.send("start", workflow="replay_gather", args=[n], kwargs={}))
    for t in tasks:
        h.complete(t, 0)
    assert h.rebuilt().state.divergence is None
