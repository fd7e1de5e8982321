"""Workflows for the journal-size tests (tests/worker/test_journal_shrink.py)."""

from __future__ import annotations

from pyworkflow import sleep, step, workflow


@step()
def shrink_add(a: int, b: int) -> int:
    return a + b


@workflow()
async def shrink_three_steps(x: int) -> int:
    total = await shrink_add(x, 1)
    total = await shrink_add(total, 2)
    return await shrink_add(total, 3)


@workflow()
async def shrink_sleep_then_step(seconds: float) -> int:
    await sleep(seconds)
    return await shrink_add(40, 2)
