"""The workflow a beat entry's schedule starts: one Celery task, awaited as a step.

``beat_schedule`` entries become schedule actors (:mod:`pyworkflow.schedules.beat_import`)
that start this workflow with the entry's task name and arguments, so each firing is
a durable run (one per slot: its run id derives from the schedule and the fire time)
whose task is journaled, leased and retried as the task declares. Every worker
registers it (``pyworkflow worker run`` imports this module).
"""

from __future__ import annotations

from typing import Any

from ..workflow_api.decorators import workflow
from .task_step import task_step

#: The built-in workflow's name, as schedules name it.
BEAT_WORKFLOW = "pyworkflow.beat_task"


@workflow(name=BEAT_WORKFLOW)
async def run_beat_task(task: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run the Celery task ``task`` once, as a step, with the entry's arguments."""
    return await task_step(task)(*args, **kwargs)
