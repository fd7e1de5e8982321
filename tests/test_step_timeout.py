"""A step body's call and its timeout (``pyworkflow.step_timeout``), as every runtime
makes it, without workers: sync steps, timeouts, context."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pyworkflow import StepTimeoutError, get_step_context
from pyworkflow.step_context import StepContext, reset_step_context, set_step_context
from pyworkflow.step_timeout import await_body, run_body

CTX = StepContext("run-x", 3, "s", 2)


def _run(fn: Any, args: list[Any], kwargs: dict[str, Any], timeout: float | None) -> Any:
    """``run_body`` inside the step context the attempt's frame sets (``step_attempt``)."""
    token = set_step_context(CTX)
    try:
        return run_body(fn, args, kwargs, timeout, CTX.step)
    finally:
        reset_step_context(token)


def test_a_plain_function_runs_as_a_step() -> None:
    assert _run(lambda a, b: a + b, [1, 2], {}, None) == 3


def test_an_async_step_sees_its_context() -> None:
    async def fn() -> str:
        return get_step_context().idempotency_key

    assert _run(fn, [], {}, None) == "run-x:3"
    assert _run(fn, [], {}, 5.0) == "run-x:3"


def test_an_async_attempt_past_its_timeout_is_cancelled() -> None:
    cancelled: list[bool] = []

    async def slow_async() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    started = time.monotonic()
    with pytest.raises(StepTimeoutError, match="timeout of 0.2s"):
        _run(slow_async, [], {}, 0.2)
    assert time.monotonic() - started < 1.5
    assert cancelled == [True]


def test_a_sync_attempt_outside_prefork_runs_to_its_end_and_its_result_is_discarded() -> None:
    """No thread is left running it: the attempt ends before its timeout is reported."""
    finished: list[bool] = []

    def slow() -> str:
        time.sleep(0.4)
        finished.append(True)
        return "late"

    with pytest.raises(StepTimeoutError, match="result is discarded"):
        _run(slow, [], {}, 0.2)
    assert finished == [True]


def test_a_step_raising_its_own_timeout_error_is_not_a_step_timeout() -> None:
    async def own() -> None:
        raise TimeoutError("the API timed out")

    with pytest.raises(TimeoutError, match="the API"):
        _run(own, [], {}, 5.0)


def test_errors_inside_a_timed_step_propagate() -> None:
    def boom() -> None:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        _run(boom, [], {}, 1.0)


def test_get_step_context_outside_a_step_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="inside a running step"):
        get_step_context()


def test_from_inside_an_event_loop_the_same_timeout_holds() -> None:
    """A transient run awaits its steps in the caller's loop (``await_body``): an async
    body is cancelled at the timeout, a sync one that overran loses its result, and a
    body's own TimeoutError stays its own."""
    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    def overran() -> str:
        time.sleep(0.3)
        return "late"

    async def own() -> None:
        raise TimeoutError("the API timed out")

    async def main() -> None:
        with pytest.raises(StepTimeoutError, match="cancelled"):
            await await_body(slow, [], {}, 0.2, "s")
        with pytest.raises(StepTimeoutError, match="discarded"):
            await await_body(overran, [], {}, 0.2, "s")
        with pytest.raises(TimeoutError, match="the API timed out"):
            await await_body(own, [], {}, 5.0, "s")
        assert await await_body(lambda x: x + 1, [1], {}, 1.0, "s") == 2

    asyncio.run(main())
