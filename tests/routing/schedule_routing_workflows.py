"""A workflow declared on a queue and a priority, for the schedule routing test: it
says which worker ran its turn and its step (``ROUTING_TAG``, set per worker)."""

from __future__ import annotations

import os

from pyworkflow import step, workflow


@step()
async def sched_routing_where() -> str:
    """Runs on the run's queue (a step that names none takes its run's)."""
    return os.environ.get("ROUTING_TAG", "?")


@workflow(queue="billing", priority=7)
async def sched_routing_billed() -> dict[str, str]:
    return {"turn": os.environ.get("ROUTING_TAG", "?"), "step": await sched_routing_where()}
