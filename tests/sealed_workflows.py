"""Workflows for the sealed-journal tests (tests/worker/test_sealed_journal.py)."""

from __future__ import annotations

import os
from typing import Any

from pyworkflow import hook, step, workflow


@step()
def sealed_add(a: int, b: int) -> int:
    return a + b


@step(max_retries=0)
def sealed_needs_file(path: str, x: int) -> int:
    """Fails (the run with it) until ``path`` exists: what an operator fixes, then retries."""
    if not os.path.exists(path):
        raise ValueError(f"{path} is missing")
    return x * 10


@workflow()
async def sealed_three_steps(x: int) -> int:
    total = await sealed_add(x, 1)
    total = await sealed_add(total, 2)
    return await sealed_add(total, 3)


@workflow()
async def sealed_fails_then_retried(path: str) -> int:
    first = await sealed_add(1, 2)
    tenfold = await sealed_needs_file(path, first)
    return await sealed_add(tenfold, 1)


@workflow()
async def sealed_waits_on_hook() -> Any:
    payload = await hook("sealed_door")
    return await sealed_add(int(payload["n"]), 1)
