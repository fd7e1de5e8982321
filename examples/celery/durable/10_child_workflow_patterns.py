"""Example 10: child workflow patterns — nesting, parallel children, errors, depth.

    pyworkflow --module examples.celery.durable.10_child_workflow_patterns worker run
    pyworkflow --module examples.celery.durable.10_child_workflow_patterns workflows run \\
        parallel_parent_workflow

* ``nested_parent_workflow``: three levels (parent -> child -> grandchild).
* ``parallel_parent_workflow``: three children at once, results gathered.
* ``error_handling_parent_workflow``: a child fails; the parent catches
  ``ChildWorkflowFailedError`` and carries on.
* ``max_depth_workflow``: recurses until ``MaxNestingDepthError`` (3 levels below
  the top run is the limit).
"""

from __future__ import annotations

import asyncio

from pyworkflow import (
    ChildWorkflowFailedError,
    FatalError,
    MaxNestingDepthError,
    sleep,
    start_child_workflow,
    step,
    workflow,
)


@step()
async def do_work(label: str) -> str:
    return f"{label} done"


@step(max_retries=0)
async def failing_work(label: str) -> str:
    raise FatalError(f"{label}: the warehouse is closed")


@workflow()
async def grandchild_workflow(label: str) -> dict:
    return {"level": 3, "work": await do_work(label)}


@workflow()
async def child_level_workflow(label: str) -> dict:
    inner = await start_child_workflow(grandchild_workflow, f"{label}/grandchild")
    return {"level": 2, "work": await do_work(label), "child": inner}


@workflow()
async def nested_parent_workflow(label: str = "root") -> dict:
    """Three levels: this run, its child, and the child's child."""
    inner = await start_child_workflow(child_level_workflow, f"{label}/child")
    return {"level": 1, "child": inner}


@workflow()
async def parallel_child_workflow(index: int, delay: str = "0s") -> dict:
    if delay != "0s":
        await sleep(delay)
    return {"index": index, "work": await do_work(f"task-{index}")}


@workflow()
async def parallel_parent_workflow(count: int = 3, child_delay: str = "0s") -> dict:
    """Start ``count`` children at once and gather their results."""
    handles = await asyncio.gather(*(
        start_child_workflow(parallel_child_workflow, i, child_delay, wait_for_completion=False)
        for i in range(count)))
    results = await asyncio.gather(*(h.result() for h in handles))
    return {"children": len(results), "results": list(results)}


@workflow()
async def failing_child_workflow(label: str) -> str:
    return await failing_work(label)


@workflow()
async def error_handling_parent_workflow() -> dict:
    """A child fails; the parent catches the error and still completes."""
    try:
        await start_child_workflow(failing_child_workflow, "shipment")
    except ChildWorkflowFailedError as exc:
        return {"handled": True, "child_run_id": exc.child_run_id,
                "error_type": exc.error_type, "error": exc.error_message}
    return {"handled": False}


@workflow()
async def max_depth_workflow(level: int = 0) -> dict:
    """Recurse one child deeper per level until the nesting limit refuses."""
    try:
        inner = await start_child_workflow(max_depth_workflow, level + 1)
    except MaxNestingDepthError as exc:
        return {"level": level, "stopped": str(exc)}
    return {"level": level, "child": inner}
