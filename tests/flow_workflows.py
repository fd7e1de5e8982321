"""Workflows with concurrency limits and rate limits, for tests on real workers."""

from __future__ import annotations

import asyncio
import os
import time

import redis

import pyworkflow
from pyworkflow import Limit, step, workflow


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("PYWORKFLOW_REDIS_URL", "redis://127.0.0.1:6379/0"))


@step()
async def flow_pause(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return time.time()


@workflow(concurrency=Limit(key="customer_id", max=3))
async def per_customer(customer_id: str, pause: float) -> str:
    """At most three runs per customer at once: each waits ``pause`` in a step."""
    await flow_pause(pause)
    return customer_id


@workflow(concurrency=Limit(max=1, policy="cancel_newest"))
async def only_one(pause: float) -> str:
    await flow_pause(pause)
    return "done"


@step(concurrency=Limit(key="tag", max=2))
async def limited_step(tag: str, pause: float, marks: str) -> float:
    """Two attempts per tag at once; each notes its start and end in ``marks`` (a Redis
    list) so the test can count how many overlapped."""
    client = _redis()
    client.rpush(marks, f"start {time.time()}")
    await asyncio.sleep(pause)
    client.rpush(marks, f"end {time.time()}")
    return time.time()


@workflow()
async def fan_limited(tag: str, n: int, pause: float, marks: str) -> int:
    await asyncio.gather(*(limited_step(tag, pause, marks) for _ in range(n)))
    return n


@step(rate_limit="20/s", key="bucket")
def rated(bucket: str, marks: str) -> float:
    """Notes when it started (the rate test counts starts in a 30 s window)."""
    now = time.time()
    _redis().rpush(marks, repr(now))
    return now


@workflow()
async def rated_batch(bucket: str, n: int, marks: str) -> int:
    await asyncio.gather(*(rated(bucket, marks) for _ in range(n)))
    return n


@workflow()
async def echo_after(value: str, pause: float) -> str:
    """Returns its argument after ``pause`` (debounce and singleton tests)."""
    await flow_pause(pause)
    return value


@step()
def doubled(x: int) -> int:
    return 2 * x


@workflow()
async def map_doubled(n: int, concurrency: int, batch_size: int) -> list[int]:
    """``pyworkflow.map`` over ``range(n)``: the results in order."""
    return await pyworkflow.map(doubled, range(n), concurrency=concurrency,
                                batch_size=batch_size)


@workflow(concurrency=Limit(key="tag", max=1, policy="cancel_oldest"))
async def newest_wins(tag: str, pause: float) -> str:
    """One run per tag; a newcomer cancels the one running (it waits in a durable sleep,
    which a cancel interrupts)."""
    await pyworkflow.sleep(pause)
    return tag
