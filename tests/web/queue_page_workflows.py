"""Workflows the queues page's browser test runs on real workers: runs holding a
concurrency limit's slots, a step over a rate limit, and a busy step that keeps its
worker's only process, so the turns queued behind it are a backlog the page shows."""

from __future__ import annotations

import asyncio
import time

from pyworkflow import Limit, sleep, step, workflow

#: the queue of the limited and rated runs, and the one whose only process is kept busy
QUEUE = "qpage"
BACKLOG_QUEUE = "qpage-backlog"


@workflow(name="qpage_held", queue=QUEUE, concurrency=Limit(key="tenant", max=2))
async def held(tenant: str) -> str:
    """Two runs per tenant at once; each holds its slot in a durable sleep (until the
    test cancels it)."""
    await sleep("10m")
    return tenant


@step(name="qpage_rated", rate_limit="1/h", key="bucket")
def rated(bucket: str) -> str:
    return bucket


@workflow(name="qpage_rated_pair", queue=QUEUE)
async def rated_pair(bucket: str) -> int:
    """Two starts of a one-an-hour step: the second is deferred (a reserved start)."""
    await asyncio.gather(rated(bucket), rated(bucket))
    return 2


@step(name="qpage_busy")
def busy(seconds: float) -> float:
    """Keeps its worker process ``seconds`` (the backlog worker has only one)."""
    time.sleep(seconds)
    return seconds


@workflow(name="qpage_busy_run", queue=BACKLOG_QUEUE)
async def busy_run(seconds: float) -> float:
    return await busy(seconds)
