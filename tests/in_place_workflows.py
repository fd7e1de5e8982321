"""Workflows for tests/actors/test_steps_in_place.py: a long line of short steps."""

from __future__ import annotations

import asyncio

from pyworkflow import step, workflow


@step(max_retries=3, retry_delay=0.1)
async def numbered_step(i: int, seconds: float) -> int:
    if seconds:
        await asyncio.sleep(seconds)
    return i


@workflow()
async def line_of_steps(n: int, seconds: float = 0.0) -> int:
    total = 0
    for i in range(n):
        total += await numbered_step(i, seconds)
    return total
