"""Signals, published values, patching and run timeouts, in the engine (in memory)."""

from __future__ import annotations

from typing import Any

import pytest

from actors import CancelTimer, MessageRejected, Send
from pyworkflow import (
    RunFinishedError,
    SignalTimeoutError,
    WorkflowFailedError,
    continue_as_new,
    deprecate_patch,
    patched,
    set_value,
    shield,
    sleep,
    start_child_workflow,
    step,
    wait_for_signal,
    workflow,
)
from pyworkflow.engine import memory_ports
from pyworkflow.testing import WorkflowEnvironment, replay
from tests.engine.harness import QUEUES, Harness


@step(name="msg_note")
async def note(what: str) -> str:
    return what


@workflow(name="msg_two_signals")
async def two_signals() -> list[Any]:
    await set_value("stage", "waiting")
    first = await wait_for_signal("paid")
    second = await wait_for_signal("paid")
    await set_value("stage", "paid")
    return [first, second]


@workflow(name="msg_signal_timeout")
async def signal_timeout() -> str:
    try:
        await wait_for_signal("never", timeout="1h")
    except SignalTimeoutError as exc:
        return f"timed out: {exc}"
    return "signalled"


@workflow(name="msg_patched")
async def patched_flow() -> str:
    await note("a")
    if patched("v2"):
        return await note("new")
    return await note("old")


@workflow(name="msg_bounded", max_duration="2h")
async def bounded() -> str:
    try:
        await sleep("1d")
    finally:
        async with shield():
            await note("cleanup")
    return "slept"


@workflow(name="msg_bounded_parent", max_duration="1h")
async def bounded_parent() -> Any:
    return await start_child_workflow("msg_bounded")


def test_a_signal_sent_before_the_wait_is_kept_and_two_arrive_in_order() -> None:
    with WorkflowEnvironment() as env:
        run = env.start(two_signals)
        assert env.records[run.run_id]["values"] == '{"stage": "waiting"}'
        env.send_signal(run.run_id, "paid", {"n": 1})
        env.send_signal(run.run_id, "other", "ignored")
        env.send_signal(run.run_id, "paid", {"n": 2})
        assert run.result() == [{"n": 1}, {"n": 2}]
        with pytest.raises(RunFinishedError, match="refused"):  # as pyworkflow.send_signal
            env.send_signal(run.run_id, "paid", {"n": 3})
        delivered = [e["data"]["received_seq"] for e in run.events()
                     if e["type"] == "signal_delivered"]
        assert len(delivered) == len(set(delivered)) == 2  # each signal once
        assert env.records[run.run_id]["values"] == '{"stage": "paid"}'
        replay(run.events())


def test_a_signal_before_the_start_is_refused_and_one_right_after_is_kept() -> None:
    # A run is made by its start: a signal reaching an empty journal is addressed to no
    # run (purged, or never started) and is refused, to be dead-lettered (issue 24).
    h = Harness("run-signals")
    with pytest.raises(MessageRejected, match="no such run"):
        h.send("signal", name="paid", payload={"n": 1})
    h.state.ctx = None  # the refused batch's turn ends (the runtime settles it)
    assert h.journal == [] and h.record == {}
    h.send("start", workflow="msg_two_signals", args=[], kwargs={})
    h.send("signal", name="paid", payload={"n": 1}, signal_id="s-1")
    ctx = h.send("signal", name="paid", payload={"n": 2}, signal_id="s-2")
    assert [e.type for e in ctx.events][:2] == ["signal_received", "signal_delivered"]
    assert h.record["status"] == "completed"
    other = h.rebuilt()
    assert other.state.divergence is None
    assert other.record == {}  # replay never re-publishes


def test_a_signal_wait_times_out_with_a_clear_error() -> None:
    with WorkflowEnvironment() as env:
        run = env.start(signal_timeout)
        env.advance("59m")
        assert run.info().status == "suspended"
        assert run.result() == "timed out: no signal 'never' arrived within 3600s"
        with pytest.raises(RunFinishedError, match="refused"):  # as pyworkflow.send_signal
            env.send_signal(run.run_id, "never", 1)  # too late: the run has ended


def test_a_cancel_interrupts_a_signal_wait() -> None:
    h = Harness("run-signal-cancel")
    h.send("start", workflow="msg_signal_timeout", args=[], kwargs={})
    ctx = h.send("cancel", reason="stop")
    assert any(isinstance(e, CancelTimer) for e in ctx.effects)
    assert h.journal[-1].type == "workflow_cancelled"


def test_a_new_run_takes_the_patched_branch_and_replays_it() -> None:
    h = Harness("run-patch-new")
    (a,) = h.steps(h.send("start", workflow="msg_patched", args=[], kwargs={}))
    (b,) = h.steps(h.complete(a, "a"))
    assert [e.type for e in h.journal][-2:] == ["patch_marked", "step_scheduled"]
    assert b["args"] == ["new"]
    h.complete(b, "new")
    assert h.journal[-1].data["result"] == "new"
    assert h.rebuilt().state.divergence is None


def test_an_old_run_replays_the_old_branch_after_the_patch_is_deployed() -> None:
    @workflow(name="msg_patched")
    async def before_the_patch() -> str:
        await note("a")
        return await note("old")

    try:
        h = Harness("run-patch-old")
        (a,) = h.steps(h.send("start", workflow="msg_patched", args=[], kwargs={}))
        h.complete(a, "a")  # the old code scheduled note("old"): in the journal
    finally:
        workflow(name="msg_patched")(patched_flow)
    other = h.rebuilt()  # a worker with the new code replays it
    assert other.state.divergence is None
    (old,) = [e for e in other.journal if e.type == "step_scheduled" and e.data["call_id"] == 2]
    assert old.data["args"] == ["old"]
    other.send("step-completed", call_id=2, attempt=1, ok=True, result="old")
    assert other.journal[-1].data["result"] == "old"
    assert "patch_marked" not in [e.type for e in other.journal]


def test_deprecate_patch_matches_a_recorded_marker() -> None:
    h = Harness("run-patch-deprecated")
    (a,) = h.steps(h.send("start", workflow="msg_patched", args=[], kwargs={}))
    h.complete(a, "a")

    @workflow(name="msg_patched")
    async def after_deprecation() -> str:
        await note("a")
        deprecate_patch("v2")
        return await note("new")

    try:
        assert h.rebuilt().state.divergence is None
        fresh = Harness("run-patch-fresh")
        (a2,) = fresh.steps(fresh.send("start", workflow="msg_patched", args=[], kwargs={}))
        (b2,) = fresh.steps(fresh.complete(a2, "a"))
        assert b2["args"] == ["new"] and "patch_marked" not in fresh.types()
    finally:
        workflow(name="msg_patched")(patched_flow)


def test_max_duration_cancels_runs_cleanup_and_fails_the_run() -> None:
    with WorkflowEnvironment() as env:
        run = env.start(bounded)
        began = env.clock.now()
        with pytest.raises(WorkflowFailedError, match="max_duration 2h exceeded") as failed:
            run.result()
        assert failed.value.error_type == "WorkflowTimeoutError"
        assert env.clock.now() - began == pytest.approx(7200, abs=0.05)  # not the 1d sleep
        steps = [e["data"]["args"] for e in run.events() if e["type"] == "step_scheduled"]
        assert steps == [["cleanup"]]  # the shielded cleanup ran
        assert run.info().status == "failed"


def test_a_child_cannot_outlive_its_parents_deadline() -> None:
    with WorkflowEnvironment() as env:
        parent = env.start(bounded_parent)
        (child_id,) = env.children(parent.run_id)
        deadlines = [env.events(r)[0]["data"]["deadline_ms"] for r in (parent.run_id, child_id)]
        assert deadlines[0] == deadlines[1]  # 1h, not the child's own 2h
        began = env.clock.now()
        with pytest.raises(WorkflowFailedError, match="max_duration 1h exceeded"):
            parent.result()
        assert env.clock.now() - began == pytest.approx(3600, abs=0.05)
        assert env.get_run(child_id).status in ("cancelled", "failed")  # ended with it


def test_unknown_or_bad_workflow_options_are_refused_at_import() -> None:
    with pytest.raises(TypeError, match="max_duraton"):
        @workflow(max_duraton="1h")
        async def typo() -> None: ...
    with pytest.raises(ValueError, match="max_duration"):
        @workflow(max_duration="soon")
        async def bad() -> None: ...


@workflow(name="msg_counter")
async def counter(n: int) -> int:
    await note(str(n))
    if n >= 9:
        return n
    await continue_as_new(n + 1)


def test_continue_as_new_names_one_successor_in_the_committed_turn() -> None:
    h = Harness("run-continue")
    (a,) = h.steps(h.send("start", workflow="msg_counter", args=[8], kwargs={}))
    ctx = h.complete(a, "8")
    (start,) = [e for e in ctx.effects if isinstance(e, Send) and e.kind == "start"]
    last = h.journal[-1]
    assert last.type == "workflow_continued_as_new"
    assert last.data["continued_to"] == start.actor_id
    assert start.payload == {"workflow": "msg_counter", "args": [9], "kwargs": {},
                             "continued_from": "run-continue"}
    assert start.msg_id == f"{start.actor_id}:start"
    assert h.record["status"] == "continued_as_new"
    assert h.record["continued_to"] == start.actor_id
    other = h.rebuilt()  # replay: the same successor, no second start, no other end
    assert other.state.divergence is None
    assert other.send("timer-fired", purpose="sleep", call_id=1).events == []
    successor = Harness(start.actor_id)
    (b,) = successor.steps(successor.send("start", **start.payload))
    successor.complete(b, "9")
    assert successor.journal[-1].data == {"result": 9}
    assert successor.record["continued_from"] == "run-continue"


@workflow(name="msg_endless")
async def endless() -> None:
    while True:
        await note("tick")


def test_a_growing_journal_warns_once_then_parks_the_run() -> None:
    h = Harness("run-endless", memory_ports(queues=QUEUES, history_warn_events=6,
                                            history_limit_events=14))
    (task,) = h.steps(h.send("start", workflow="msg_endless", args=[], kwargs={}))
    for _ in range(10):
        if h.record.get("status") == "parked":
            break
        (task,) = h.steps(h.complete(task, "tick"))
    types = h.types()
    assert types.count("history_large") == 1
    assert types[-1] == "workflow_parked"
    parked = h.journal[-1].data
    assert parked["error_type"] == "HistoryLimitError" and "continue_as_new" in parked["reason"]
    assert h.record["status"] == "parked"


@workflow(name="msg_kept_a_day", retention="1d")
async def kept_a_day() -> str:
    return await note("x")


@workflow(name="msg_kept_forever", retention=None)
async def kept_forever() -> str:
    return await note("x")


def test_an_ended_run_schedules_its_purge_by_its_retention() -> None:
    for workflow_name, expected in (("msg_kept_a_day", 86400.0), ("msg_kept_forever", None),
                                    ("msg_patched", 30 * 86400.0)):
        h = Harness(f"run-{workflow_name}")
        (task,) = h.steps(h.send("start", workflow=workflow_name, args=[], kwargs={}))
        while h.record.get("status") == "running" or not h.record.get("finished_at"):
            tasks = h.steps(h.complete(task, "x"))
            task = tasks[0] if tasks else task
        expiries = h.ports.runs.expiries  # type: ignore[attr-defined]
        if expected is None:
            assert h.run_id not in expiries and "purge_at" not in h.record
        else:
            finished = float(h.record["finished_at"])
            assert expiries[h.run_id] == pytest.approx(finished + expected)
            assert float(h.record["purge_at"]) == pytest.approx(finished + expected)
