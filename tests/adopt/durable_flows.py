"""The adoption tests' tasks with durability added: a workflow awaits a plain Celery
task as a step (``step.from_task``); the task itself stays as it was."""

from __future__ import annotations

from pyworkflow import step, workflow
from tests.adopt import chord_tasks

flaky_step = step.from_task(chord_tasks.flaky)


@workflow(name="adopt_flaky")
async def flaky_flow(tag: str, failures: int) -> int:
    return int(await flaky_step(tag, failures))
