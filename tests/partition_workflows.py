"""Workflows for partition tests: they hold a turn or a step on the isolated worker.

Only the worker started with ``PWTEST_HOLD_DIR`` in its environment ever waits; every
other worker runs straight through, so the run finishes wherever it is taken over.
A hold is taken once (the marker file is renamed atomically, so two processes of the
same worker never both hold) and waits for ``<dir>/release``. Waiting in workflow
code only changes timing, never the commands issued, so replay stays deterministic.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from pyworkflow import sleep, step, workflow

HOLD_LIMIT_S = 120.0


def _hold(name: str) -> None:
    folder = os.environ.get("PWTEST_HOLD_DIR")
    if not folder:
        return
    marker = Path(folder) / name
    taken = Path(folder) / f"{name}.held-by-{os.getpid()}"
    try:
        marker.rename(taken)
    except OSError:
        return  # not armed, or another process holds it
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not (Path(folder) / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        (Path(folder) / f"{name}.released").touch()


@step()
async def partition_step(tag: str) -> str:
    _hold(f"step-{tag}")
    return f"{tag}-done"


@workflow()
async def held_turn(tag: str) -> str:
    _hold(f"turn-{tag}")
    return await partition_step(f"{tag}-after")


@workflow()
async def held_step(tag: str) -> str:
    return await partition_step(tag)


@workflow()
async def short_sleep(tag: str, seconds: float) -> str:
    await sleep(seconds)
    return tag


@workflow()
async def partition_tick(n: int) -> int:
    return n
