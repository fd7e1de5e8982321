"""``WorkflowEnvironment``: workflows run in-process on a virtual clock, no Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pyworkflow import (
    CancellationError,
    HookExpiredError,
    RetryableError,
    RunFinishedError,
    WorkflowFailedError,
    continue_as_new,
    get_step_context,
    hook,
    set_value,
    shield,
    sleep,
    start_child_workflow,
    step,
    wait_for_signal,
    workflow,
)
from pyworkflow.testing import WorkflowEnvironment

attempts: list[int] = []


@step()
async def charge(order_id: str, amount: float) -> str:
    raise AssertionError("mocked in these tests: a real charge must not run")


@step(max_retries=3)
async def flaky_fetch(key: str) -> str:
    attempts.append(get_step_context().attempt)
    if len(attempts) < 3:
        raise RetryableError("not yet", retry_after="1h")
    return f"fetched {key}"


@step()
def double(x: int) -> int:
    return 2 * x


@workflow(name="env_long_haul")
async def long_haul(order_id: str) -> dict[str, Any]:
    await sleep("30d")
    fetched = await flaky_fetch(order_id)
    try:
        approval = await hook("approve", timeout="7d")
    except HookExpiredError:
        approval = "expired"
    paid = await charge(order_id, 9.5)
    return {"fetched": fetched, "approval": approval, "paid": paid}


@workflow(name="env_approval")
async def approval() -> Any:
    await set_value("stage", "waiting")
    decision = await hook("decide", timeout="3d")
    paid = await wait_for_signal("paid")
    return {"decision": decision, "paid": paid}


@workflow(name="env_child")
async def child(x: int) -> int:
    return await double(x)


@workflow(name="env_parent")
async def parent() -> int:
    return await start_child_workflow("env_child", 21)


@workflow(name="env_cancellable")
async def cancellable() -> str:
    try:
        await sleep("1d")
    except CancellationError:
        async with shield():
            await double(1)
        raise
    return "slept"


def test_a_month_long_workflow_completes_in_well_under_a_second() -> None:
    attempts.clear()
    started = time.monotonic()
    with WorkflowEnvironment() as env:
        env.mock_step(charge, return_value="charged")
        t0 = env.clock.now()
        result = env.run(long_haul, "o-1")
        elapsed_virtual = env.clock.now() - t0
    wall = time.monotonic() - started
    assert result == {"fetched": "fetched o-1", "approval": "expired", "paid": "charged"}
    assert attempts == [1, 2, 3]
    assert elapsed_virtual >= 30 * 86400 + 2 * 3600 + 7 * 86400 - 1  # (ms rounding)
    assert wall < 1.0, f"took {wall:.2f}s of wall time"


def test_a_run_is_driven_by_hand_with_hooks_signals_and_advance() -> None:
    with WorkflowEnvironment() as env:
        h = env.start(approval)
        assert h.info().status == "suspended"
        assert h.info().to_dict()["waiting_on"] == ["hook decide"]
        env.advance("2d")  # not yet expired
        (pending,) = h.hooks()
        env.resume_hook(pending.token, {"ok": True})
        env.send_signal(h.run_id, "paid", {"amount": 10})
        assert h.result() == {"decision": {"ok": True}, "paid": {"amount": 10}}
        types = [e["type"] for e in env.events(h.run_id)]
        assert types[:2] == ["workflow_started", "value_set"]
        assert "signal_delivered" in types and types[-1] == "workflow_completed"
        with pytest.raises(RunFinishedError, match="refused"):  # as pyworkflow.send_signal
            env.send_signal(h.run_id, "paid", 1)


def test_a_run_waiting_on_nothing_that_can_happen_says_so() -> None:
    with WorkflowEnvironment() as env:
        h = env.start(approval)
        (pending,) = h.hooks()
        env.resume_hook(pending.token, "yes")
        with pytest.raises(RuntimeError, match="send its signal"):
            h.result()


def test_children_sync_steps_and_failures() -> None:
    with WorkflowEnvironment() as env:
        assert env.run(parent) == 42
        env.mock_step(double, side_effect=ValueError("boom"))
        with pytest.raises(WorkflowFailedError, match="boom"):
            env.run(child, 1)


def test_cancellation_runs_shielded_cleanup() -> None:
    with WorkflowEnvironment() as env:
        h = env.start(cancellable)
        info = env.cancel(h.run_id, reason="stop")
        assert info.status == "cancelled"
        types = [e["type"] for e in env.events(h.run_id)]
        assert "step_completed" in types  # the shielded cleanup ran


def test_it_works_inside_a_running_event_loop() -> None:
    async def main() -> int:
        async with WorkflowEnvironment() as env:
            return env.run(parent)  # type: ignore[no-any-return]

    assert asyncio.run(main()) == 42


@workflow(name="env_counter")
async def counter(n: int, total: int) -> int:
    total += await double(n)
    if n >= 5:
        return total
    await continue_as_new(n + 1, total)


def test_continue_as_new_chains_runs_to_the_last_result() -> None:
    with WorkflowEnvironment() as env:
        h = env.start(counter, 1, 0)
        assert h.result() == 2 * (1 + 2 + 3 + 4 + 5)
        chain = [h.run_id]
        while (nxt := env.get_run(chain[-1]).continued_to) is not None:
            assert env.get_run(nxt).continued_from == chain[-1]
            chain.append(nxt)
        assert len(chain) == 5
        assert [env.get_run(r).status for r in chain] == ["continued_as_new"] * 4 + ["completed"]
        first = env.events(chain[0])
        assert first[-1]["type"] == "workflow_continued_as_new"
        assert first[-1]["data"]["continued_to"] == chain[1]
        assert len(env.events(chain[-1])) < len(first) + 2  # each link starts a fresh journal
