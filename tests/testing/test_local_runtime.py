"""The local runtime: the real engine in this process on the wall clock. Timers
fire by themselves, events are told as they are committed, and the journal it
keeps replays clean."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pyworkflow import WorkflowFailedError, sleep, step, workflow
from pyworkflow.local.runtime import LocalRuntime, run_local
from pyworkflow.testing import replay


@step(name="lr_add")
async def add(a: int, b: int) -> int:
    return a + b


@step(name="lr_boom", max_retries=0)
async def boom() -> None:
    raise ValueError("boom")


@workflow(name="lr_flow")
async def flow(a: int) -> int:
    first = await add(a, 1)
    await sleep("0.2s")
    return await add(first, 1)


@workflow(name="lr_failing")
async def failing() -> None:
    await boom()


def test_a_sleep_waits_real_time_and_fires_by_itself() -> None:
    began = time.monotonic()
    assert run_local(flow, 1) == 3
    assert time.monotonic() - began >= 0.2


def test_events_are_told_before_the_run_waits_and_the_journal_replays() -> None:
    told: list[tuple[str, Any]] = []
    with LocalRuntime(on_event=lambda run_id, e: told.append((e["type"], time.monotonic()))) \
            as runtime:
        run = runtime.start(flow, 1)
        started = dict(told)
        assert "sleep_started" in started  # told before the 0.2 s wait began
        assert run.result() == 3
        events = run.events()
    assert [t for t, _ in told] == [e["type"] for e in events]
    replay(events)


def test_a_failed_run_raises_workflow_failed_error() -> None:
    with pytest.raises(WorkflowFailedError, match="boom"):
        run_local(failing)
