"""The step runner's own promises, without workers: sync steps, timeouts, context."""

from __future__ import annotations

import asyncio
import time

import pytest

from pyworkflow import StepTimeoutError, get_step_context
from pyworkflow.step_context import StepContext
from pyworkflow.step_task import _call

CTX = StepContext("run-x", 3, "s", 2)


def test_a_plain_function_runs_as_a_step() -> None:
    assert _call(lambda a, b: a + b, [1, 2], {}, None, CTX) == 3


def test_an_async_step_sees_its_context() -> None:
    async def fn() -> str:
        return get_step_context().idempotency_key

    assert _call(fn, [], {}, None, CTX) == "run-x:3"
    assert _call(fn, [], {}, 5.0, CTX) == "run-x:3"


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
        _call(slow_async, [], {}, 0.2, CTX)
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
        _call(slow, [], {}, 0.2, CTX)
    assert finished == [True]


def test_a_step_raising_its_own_timeout_error_is_not_a_step_timeout() -> None:
    async def own() -> None:
        raise TimeoutError("the API timed out")

    with pytest.raises(TimeoutError, match="the API"):
        _call(own, [], {}, 5.0, CTX)


def test_errors_inside_a_timed_step_propagate() -> None:
    def boom() -> None:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        _call(boom, [], {}, 1.0, CTX)


def test_get_step_context_outside_a_step_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="inside a running step"):
        get_step_context()
