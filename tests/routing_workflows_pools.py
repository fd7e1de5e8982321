"""Routing to two worker pools: a workflow on the ``billing`` queue whose step runs on
the ``gpu`` queue, and a priority workflow for the priority tests."""

from __future__ import annotations

import asyncio
import os
import time

from pyworkflow import step, workflow

#: ``ROUTING_STEP_WATCH_MS`` in a worker's environment: how long a step attempt whose
#: turn that worker runs may wait in its queue unstarted before it is looked at (the
#: worker's ``dispatch_watch_ms``: ``defaults.DISPATCH_CHECK_MS``, 10 s, on a Redis
#: broker), so that a test sees what then happens sooner. Only the length changes: the
#: same watch runs out. (Read when the worker wires its runtime, after this import.)
_STEP_WATCH_MS = os.environ.get("ROUTING_STEP_WATCH_MS")
if _STEP_WATCH_MS:
    from pyworkflow import defaults as _defaults

    _defaults.DISPATCH_CHECK_MS = _defaults.QUEUED_WATCH_MS = int(_STEP_WATCH_MS)


@step(queue="gpu")
async def routing_render() -> str:
    return os.environ.get("ROUTING_TAG", "?")


@workflow(queue="billing")
async def routing_billing() -> dict[str, object]:
    return {"turn": os.environ.get("ROUTING_TAG", "?"), "step": await routing_render()}


@step()
def routing_busy(seconds: float) -> float:
    """Holds its worker process ``seconds``; returns when it started."""
    started = time.time()
    time.sleep(seconds)
    return started


@workflow(priority=0)
async def routing_backlog(count: int, seconds: float) -> int:
    """``count`` low-priority steps at once: a backlog in the steps queue."""
    await asyncio.gather(*(routing_busy(seconds) for _ in range(count)))
    return count


@workflow()
async def routing_urgent() -> float:
    """One step; returns when it started (the run is started with ``priority=9``)."""
    return await routing_busy(0.0)
