"""The in-process runtimes (``WorkflowEnvironment``, ``LocalRuntime``) do what a worker
does where they can (issues 23, 24): idempotency keys, step timeouts, a running step
seeing its run's cancel; and ``mock_step`` refuses a name no step has."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from pyworkflow import (
    CancellationError,
    IdempotencyKeyUsedError,
    StepTimeoutError,
    get_step_context,
    shield,
    sleep,
    step,
    wait_for_signal,
    workflow,
)
from pyworkflow.local.runtime import LocalRuntime
from pyworkflow.testing import WorkflowEnvironment

#: How long a test waits for another thread before it calls it stuck.
WAIT_S = 10.0


def _until(what: str, check: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _driven_elsewhere(runtime: LocalRuntime) -> bool:
    """Whether another thread holds the runtime's drive (it is running or waiting)."""
    lock = runtime._drive_lock
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def _drive_in_thread(runtime: LocalRuntime, run_id: str) -> tuple[threading.Thread, list[Any]]:
    """``runtime.wait(run_id)`` on a daemon thread (a failing test cannot hang on it)."""
    waited: list[Any] = []
    driver = threading.Thread(target=lambda: waited.append(runtime.wait(run_id)), daemon=True)
    driver.start()
    return driver, waited


# -- steps and workflows ---------------------------------------------------------------------

calls: list[str] = []
step_running = threading.Event()

# The sync steps return ``Any``: a workflow awaits a step call, and ``@step`` keeps a
# sync function's own type, which mypy would not let it await.


@step(name="parity_add")
def add(a: int, b: int) -> Any:
    calls.append("add")
    return a + b


@step(name="parity_async_slow", timeout="0.2s", max_retries=1, retry_delay=0)
async def async_slow(seconds: float) -> str:
    calls.append("async_slow")
    await asyncio.sleep(seconds)
    return "in time"


@step(name="parity_sync_slow", timeout="0.2s", max_retries=0)
def sync_slow(seconds: float) -> Any:
    calls.append("sync_slow")
    time.sleep(seconds)
    return "in time"


@step(name="parity_until_cancelled", max_retries=2, retry_delay=0)
def until_cancelled() -> Any:
    calls.append("until_cancelled")
    step_running.set()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        get_step_context().check_cancellation()
        time.sleep(0.01)
    return "never cancelled"


@step(name="parity_cleanup")
def cleanup() -> Any:
    calls.append("cleanup")
    return "cleaned"


@workflow(name="parity_adder")
async def adder(a: int) -> int:
    return await add(a, 1)


@workflow(name="parity_async_timeout")
async def async_timeout(seconds: float) -> str:
    return await async_slow(seconds)


@workflow(name="parity_sync_timeout")
async def sync_timeout(seconds: float) -> str:
    return await sync_slow(seconds)


@workflow(name="parity_cancellable_step")
async def cancellable_step() -> str:
    try:
        return await until_cancelled()
    except CancellationError:
        async with shield():
            await cleanup()
        raise


@workflow(name="parity_long_sleep")
async def long_sleep() -> str:
    try:
        await sleep("1h")
    except CancellationError:
        async with shield():
            await cleanup()
        raise
    return "slept"


@workflow(name="parity_signal_then_sleep")
async def signal_then_sleep() -> str:
    await wait_for_signal("go", timeout="1h")
    await sleep("2d")
    return "done"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    calls.clear()
    step_running.clear()


# -- mock_step -----------------------------------------------------------------------------


def test_mock_step_refuses_a_name_no_step_has_and_names_close_ones() -> None:
    with WorkflowEnvironment() as env:
        with pytest.raises(LookupError, match=r"'parity_ad'.*did you mean 'parity_add'"):
            env.mock_step("parity_ad", return_value=0)
        with pytest.raises(TypeError, match="takes a step"):
            env.mock_step(adder, return_value=0)  # a workflow, not a step
        env.mock_step("parity_add", return_value=41)  # a real name is still fine
        assert env.run(adder, 1) == 41
    assert calls == []


# -- idempotency keys --------------------------------------------------------------------------


@pytest.mark.parametrize("make", [WorkflowEnvironment, LocalRuntime], ids=["testing", "local"])
def test_an_idempotency_key_gives_the_same_run_with_start_s_if_finished_rules(
        make: type[WorkflowEnvironment]) -> None:
    with make() as env:
        first = env.start(adder, 1, idempotency_key="k")
        assert first.result() == 2
        assert env.start(adder, 1, idempotency_key="k").run_id == first.run_id
        assert env.start(adder, 1, idempotency_key="k", if_finished="return").run_id \
            == first.run_id
        with pytest.raises(IdempotencyKeyUsedError, match=first.run_id):
            env.start(adder, 1, idempotency_key="k", if_finished="refuse")
        again = env.start(adder, 5, idempotency_key="k", if_finished="start_new")
        assert again.run_id != first.run_id and again.result() == 6
        assert env.start(adder, 1, idempotency_key="k").run_id == again.run_id
        assert env.start(adder, 1, idempotency_key="other").run_id not in (first.run_id,
                                                                          again.run_id)
        with pytest.raises(ValueError, match="if_finished must be one of"):
            env.start(adder, 1, idempotency_key="k", if_finished="sometimes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="parity_adder"):
            env.start(adder, idempotency_key="k")  # arguments are checked before the key
    assert calls == ["add", "add", "add"]


def test_a_live_run_is_returned_for_its_key_whatever_if_finished_says() -> None:
    with WorkflowEnvironment() as env:
        live = env.start(signal_then_sleep, idempotency_key="live")
        for choice in ("return", "start_new", "refuse"):
            again = env.start(signal_then_sleep, idempotency_key="live", if_finished=choice)
            assert again.run_id == live.run_id


# -- step timeouts -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [WorkflowEnvironment, LocalRuntime], ids=["testing", "local"])
def test_an_async_step_past_its_timeout_is_cancelled_and_retried(
        make: type[WorkflowEnvironment]) -> None:
    with make() as env:
        began = time.monotonic()
        info = env.wait(env.start(async_timeout, 5).run_id)
        assert time.monotonic() - began < 3  # cancelled at 0.2 s, not slept 5 s twice
        assert info.status == "failed"
        assert info.error is not None and "StepTimeoutError" in info.error["type"]
        assert "ran longer than its timeout of 0.2s (cancelled)" in info.error["message"]
        assert env.run(async_timeout, 0) == "in time"
    assert calls == ["async_slow"] * 3


def test_a_sync_step_past_its_timeout_has_its_result_discarded() -> None:
    with WorkflowEnvironment() as env:
        info = env.wait(env.start(sync_timeout, 0.3).run_id)
        assert info.status == "failed"
        assert info.error is not None
        assert "its result is discarded" in info.error["message"]
        assert env.run(sync_timeout, 0) == "in time"


def test_timeouts_hold_inside_a_running_event_loop_and_for_a_mocked_step() -> None:
    async def main() -> None:
        async with WorkflowEnvironment() as env:
            info = env.wait(env.start(async_timeout, 5).run_id)
            assert info.error is not None and "StepTimeoutError" in info.error["type"]

            async def slow_mock(seconds: float) -> str:
                await asyncio.sleep(5)
                return "mocked"

            env.mock_step(async_slow, side_effect=slow_mock)
            began = time.monotonic()
            with pytest.raises(Exception, match="StepTimeoutError|timeout"):
                env.run(async_timeout, 0)
            assert time.monotonic() - began < 3

    asyncio.run(main())


def test_step_timeout_error_is_what_the_workflow_catches() -> None:
    @workflow(name="parity_catch_timeout")
    async def catch_timeout() -> str:
        try:
            return await sync_slow(0.3)
        except StepTimeoutError as exc:
            return f"caught {type(exc).__name__}"

    with WorkflowEnvironment() as env:
        assert env.run(catch_timeout) == "caught StepTimeoutError"


# -- a running step sees its run's cancel ------------------------------------------------------


def test_a_cancel_from_another_thread_stops_a_running_step_through_its_context() -> None:
    runtime = LocalRuntime()
    handle = runtime.begin(cancellable_step)
    driver, waited = _drive_in_thread(runtime, handle.run_id)
    assert step_running.wait(WAIT_S)
    info = runtime.cancel(handle.run_id, reason="enough")
    assert not info.finished  # handed over: the driving thread handles it
    driver.join(WAIT_S)
    assert not driver.is_alive()
    (final,) = waited
    assert final.status == "cancelled"
    types = [e["type"] for e in handle.events()]
    runtime.close()
    # the cancel's turn comes before the step's failure, which is not retried
    assert types == ["workflow_started", "step_scheduled", "cancel_requested", "step_failed",
                     "step_scheduled", "step_completed", "workflow_cancelled"]
    assert calls == ["until_cancelled", "cleanup"]


def test_a_cancel_from_another_thread_wakes_a_run_waiting_on_a_timer() -> None:
    runtime = LocalRuntime()
    handle = runtime.start(long_sleep)  # waits on a one-hour timer
    driver, waited = _drive_in_thread(runtime, handle.run_id)
    _until("the other thread to drive the run", lambda: _driven_elsewhere(runtime))
    runtime.cancel(handle.run_id)
    driver.join(WAIT_S)
    assert not driver.is_alive()
    assert waited[0].status == "cancelled"
    assert runtime.cancel(handle.run_id).status == "cancelled"  # ended: nothing to do
    runtime.close()
    assert calls == ["cleanup"]


def test_a_step_of_a_run_cancelled_before_it_ran_stops_in_the_test_environment() -> None:
    with WorkflowEnvironment() as env:
        handle = env.start(long_sleep)
        env.cancel(handle.run_id)
        assert handle.info().status == "cancelled"
        # the record a running step's probe reads says so
        assert env.records[handle.run_id].get("cancel_requested") == "1"


# -- the virtual clock ---------------------------------------------------------------------------


def test_advance_never_fires_a_timer_beyond_where_it_was_asked_to_go() -> None:
    with WorkflowEnvironment() as env:
        handle = env.start(signal_then_sleep)
        env.send_signal(handle.run_id, "go")  # the signal's 1 h timeout timer is cancelled
        began = env.clock.now()
        env.advance("2h")
        assert not handle.info().finished  # the 2 d sleep is still ahead
        assert env.clock.now() - began == pytest.approx(7200, abs=0.01)
        env.advance("2d")
        assert handle.result() == "done"
