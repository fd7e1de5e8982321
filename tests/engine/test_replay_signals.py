"""Cancellation, hooks and children in the replay engine, driven directly."""

from __future__ import annotations

from typing import Any

from actors import CancelTimer, Send, StartTimer
from pyworkflow import (
    CancellationError,
    ChildWorkflowFailedError,
    HookExpiredError,
    MaxNestingDepthError,
    ParentClosePolicy,
    hook,
    shield,
    sleep,
    start_child_workflow,
    step,
    workflow,
)
from tests.engine.harness import Harness

cleanups: list[str] = []


@step()
async def reserve(order_id: str) -> str:
    return f"reserved {order_id}"


@step()
async def release(order_id: str) -> str:
    return f"released {order_id}"


@workflow(name="sig_cancellable")
async def cancellable(order_id: str) -> str:
    await reserve(order_id)
    try:
        await sleep("60s")
        await reserve(order_id)
        return "done"
    except CancellationError:
        async with shield():
            await release(order_id)
            await sleep("1s")
        raise


@workflow(name="sig_hooked")
async def hooked() -> Any:
    try:
        return await hook("approval", timeout="2s", on_created=lambda t: cleanups.append(t))
    except HookExpiredError:
        return "expired"


@workflow(name="sig_child")
async def child(x: int) -> int:
    return await reserve(str(x)) and x * 2


@workflow(name="sig_parent")
async def parent() -> Any:
    a = await start_child_workflow("sig_child", 1)
    handle = await start_child_workflow("sig_child", 2, wait_for_completion=False,
                                        parent_close_policy=ParentClosePolicy.ABANDON)
    try:
        await start_child_workflow("sig_child", 3)
    except ChildWorkflowFailedError as exc:
        return {"a": a, "bg": handle.child_run_id, "failed": exc.error_type}
    return {"a": a}


@workflow(name="sig_deep")
async def deep() -> str:
    try:
        await start_child_workflow("sig_deep")
    except MaxNestingDepthError:
        return "too deep"
    return "ok"


def _sends(ctx: Any, kind: str) -> list[Send]:
    return [e for e in ctx.effects if isinstance(e, Send) and e.kind == kind]


def test_cancel_during_sleep_runs_shielded_cleanup_and_ends_cancelled() -> None:
    h = Harness("run-cancel")
    (t1,) = h.steps(h.send("start", workflow="sig_cancellable", args=["o1"], kwargs={}))
    h.complete(t1, "reserved o1")
    assert h.types()[-1] == "sleep_started"
    ctx = h.send("cancel", reason="customer cancelled")
    assert [e.type for e in ctx.events] == ["cancel_requested", "wait_cancelled",
                                            "step_scheduled"]
    assert any(isinstance(e, CancelTimer) for e in ctx.effects)
    (cleanup,) = h.steps(ctx)
    assert cleanup["step"] == "release"
    ctx = h.complete(cleanup, "released o1")
    assert [e.type for e in ctx.events] == ["step_completed", "sleep_started"]  # shielded
    h.send("timer-fired", purpose="sleep", call_id=4)
    assert h.types()[-1] == "workflow_cancelled"
    assert h.journal[-1].data["reason"] == "customer cancelled"
    assert h.record["status"] == "cancelled"
    assert h.rebuilt().state.divergence is None


def test_cancel_of_a_finished_run_changes_nothing() -> None:
    h = Harness("run-cancel-done")
    h.send("start", workflow="sig_child", args=[1], kwargs={})
    (t,) = [e for e in h.journal if e.type == "step_scheduled"]
    h.send("step-completed", call_id=1, attempt=1, ok=True, result="x")
    before = list(h.journal)
    assert h.send("cancel", reason="late").events == []
    assert h.journal == before


def test_hook_delivery_and_on_created_runs_after_commit() -> None:
    cleanups.clear()
    h = Harness("run-hook")
    ctx = h.send("start", workflow="sig_hooked", args=[], kwargs={})
    (created,) = [e for e in ctx.events if e.type == "hook_created"]
    token = created.data["token"]
    assert len(token) >= 32 and "run-hook" not in token
    assert cleanups == []  # not before the commit
    h.behaviour.after_commit(h.state)
    assert cleanups == [token]
    assert any(isinstance(e, StartTimer) for e in ctx.effects)
    h.send("hook-received", token="forged", call_id=1, payload={"x": 1})
    assert h.types()[-1] == "hook_created"  # a wrong token changes nothing
    h.send("hook-received", token=token, call_id=1, payload={"approved": True})
    assert h.journal[-1].type == "workflow_completed"
    assert h.journal[-1].data["result"] == {"approved": True}
    other = h.rebuilt()
    assert other.state.divergence is None
    other.behaviour.after_commit(other.state)
    assert cleanups == [token]  # on_created did not run again on replay


def test_hook_timeout_raises_in_the_workflow() -> None:
    h = Harness("run-hook-timeout")
    h.send("start", workflow="sig_hooked", args=[], kwargs={})
    h.send("timer-fired", purpose="hook-timeout", call_id=1)
    assert h.types()[-2:] == ["hook_expired", "workflow_completed"]
    assert h.journal[-1].data["result"] == "expired"


def test_children_start_once_and_report_back() -> None:
    h = Harness("run-parent")
    ctx = h.send("start", workflow="sig_parent", args=[], kwargs={})
    (start_a,) = _sends(ctx, "start")
    child_a = start_a.actor_id
    assert start_a.payload["parent"] == {"run_id": "run-parent", "call_id": 1}
    assert start_a.payload["depth"] == 1
    ctx = h.send("child-completed", call_id=1, child_run_id=child_a, status="completed",
                 result=2)
    starts = _sends(ctx, "start")
    assert len(starts) == 2  # the background child and the third one
    third = starts[1]
    ctx = h.send("child-completed", call_id=3, child_run_id=third.actor_id, status="failed",
                 error={"type": "ValueError", "message": "bad"})
    assert h.journal[-1].type == "workflow_completed"
    assert h.journal[-1].data["result"] == {"a": 2, "bg": starts[0].actor_id,
                                           "failed": "ValueError"}
    assert _sends(ctx, "cancel") == []  # the abandoned child is left running
    other = h.rebuilt()
    assert other.state.divergence is None


def test_nesting_deeper_than_three_raises_at_the_call() -> None:
    h = Harness("run-deep")
    h.send("start", workflow="sig_deep", args=[], kwargs={}, depth=3)
    assert h.journal[-1].type == "workflow_completed"
    assert h.journal[-1].data["result"] == "too deep"
