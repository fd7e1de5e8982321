"""Transient runs: in-process, nothing journaled, and the step retry policy still
applies (as the engine would apply it to a durable run)."""

from __future__ import annotations

import asyncio

import pytest

from pyworkflow import (
    FatalError,
    RetryableError,
    StepFailedError,
    get_step_context,
    step,
    workflow,
)
from pyworkflow.local.runtime import run_local
from pyworkflow.local.transient import current_transient_run, is_transient, run_transient

attempts: list[tuple[str, int, str]] = []


@step(name="tr_flaky", max_retries=3, retry_delay=0)
async def flaky(fail_times: int, error: str) -> int:
    ctx = get_step_context()
    attempts.append((ctx.step, ctx.attempt, ctx.idempotency_key))
    if ctx.attempt <= fail_times:
        raise {"retryable": RetryableError("busy"), "fatal": FatalError("no"),
               "value": ValueError("bad")}[error]
    return ctx.attempt


@step(name="tr_sync", max_retries=0)
def sync_double(x: int) -> int:
    return 2 * x


@workflow(name="tr_flow", durable=False)
async def flow(fail_times: int, error: str = "retryable") -> int:
    assert current_transient_run() is not None
    return await flaky(fail_times, error) + await sync_double(1)


@pytest.fixture(autouse=True)
def _clear() -> None:
    attempts.clear()


def test_retries_apply_with_one_idempotency_key_per_call() -> None:
    assert run_transient(flow, 2) == 3 + 2
    assert [a[1] for a in attempts] == [1, 2, 3]
    assert len({a[2] for a in attempts}) == 1


def test_a_fatal_error_fails_at_once() -> None:
    with pytest.raises(FatalError):
        run_transient(flow, 5, "fatal")
    assert len(attempts) == 1


def test_exhausted_retries_raise_what_a_durable_run_would() -> None:
    with pytest.raises(RetryableError):
        run_transient(flow, 9, "retryable")
    assert len(attempts) == 4  # max_retries=3: four attempts in all
    attempts.clear()
    with pytest.raises(StepFailedError) as found:
        run_transient(flow, 9, "value")
    assert (found.value.error_type, found.value.attempts) == ("ValueError", 4)


def test_run_local_runs_a_durable_false_workflow_transient() -> None:
    assert is_transient("tr_flow")
    assert run_local(flow, 0) == 1 + 2


def test_inside_an_event_loop_use_the_async_form() -> None:
    from pyworkflow.local.transient import run_transient_async

    assert asyncio.run(run_transient_async(flow, 1)) == 2 + 2


def test_a_step_called_outside_any_run_is_still_a_plain_call() -> None:
    assert sync_double(4) == 8  # a value, not an awaitable: unchanged outside a run


def test_the_durable_option_is_checked_at_import_time() -> None:
    with pytest.raises(ValueError, match="durable"):
        workflow(name="tr_bad", durable="no")
