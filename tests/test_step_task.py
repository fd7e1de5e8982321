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


def test_an_attempt_past_its_timeout_fails_with_a_retryable_timeout() -> None:
    def slow() -> None:
        time.sleep(2)

    started = time.monotonic()
    with pytest.raises(StepTimeoutError, match="timeout of 0.2s"):
        _call(slow, [], {}, 0.2, CTX)
    assert time.monotonic() - started < 1.5

    async def slow_async() -> None:
        await asyncio.sleep(2)

    with pytest.raises(StepTimeoutError):
        _call(slow_async, [], {}, 0.2, CTX)


def test_errors_inside_a_timed_step_propagate() -> None:
    def boom() -> None:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        _call(boom, [], {}, 1.0, CTX)


def test_get_step_context_outside_a_step_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="inside a running step"):
        get_step_context()
