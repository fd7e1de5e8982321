"""Workflows for the ``--runtime local --resume`` tests: each step appends a line to
the file named by ``LR_MARKS`` (how many times a step ran is what the tests check),
and ``hold`` waits until the file named by ``LR_RELEASE`` exists."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyworkflow import sleep, step, workflow


def _mark(tag: str) -> None:
    with open(os.environ["LR_MARKS"], "a") as marks:
        marks.write(tag + "\n")


@step(name="lr_resume_mark")
async def mark(tag: str) -> str:
    _mark(tag)
    return tag


@step(name="lr_resume_hold", max_retries=0)
async def hold() -> str:
    _mark("hold-started")
    release = Path(os.environ["LR_RELEASE"])
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return "held"


@workflow(name="lr_resume_sleeper")
async def sleeper(label: str) -> list[str]:
    first = await mark(f"{label}-one")
    await sleep("1.5s")
    return [first, await mark(f"{label}-two")]


@workflow(name="lr_resume_holder")
async def holder() -> list[str]:
    return [await mark("before"), await hold(), await mark("after")]
