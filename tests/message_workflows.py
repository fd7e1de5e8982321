"""Workflows that talk with apps, for tests/workflow_api/test_signals_integration.py.

Signals in, published values out, a run with a deadline; and example 08 (a long
step that checks for a cancel), imported so the same workers serve it.
"""

from __future__ import annotations

import importlib
from typing import Any

from pyworkflow import (
    CancellationError,
    set_value,
    shield,
    sleep,
    step,
    wait_for_signal,
    workflow,
)

#: Example 08, registered on the workers that serve this module.
cancellation_example = importlib.import_module("examples.celery.durable.08_cancellation")


@workflow()
async def signal_collector(count: int = 2) -> list[Any]:
    """Waits for ``count`` signals named ``item``, one after the other."""
    got = []
    for _ in range(count):
        got.append(await wait_for_signal("item"))
    return got


@workflow()
async def late_waiter(delay: str = "1s") -> Any:
    """Sleeps before it waits: a signal sent at once must be kept until then."""
    await sleep(delay)
    return await wait_for_signal("go")


@workflow()
async def publisher(order_id: str) -> str:
    """Publishes progress, waits for ``go``, then publishes ``final``."""
    await set_value("progress", {"order_id": order_id, "done": 1})
    await wait_for_signal("go")
    await set_value("progress", {"order_id": order_id, "done": 2})
    await set_value("final", f"shipped {order_id}")
    return "ok"


@step(max_retries=0)
async def cleanup(tag: str) -> str:
    return f"cleaned {tag}"


@workflow(max_duration="3s")
async def overdue(tag: str) -> str:
    """Sleeps far past its deadline; its shielded cleanup still runs."""
    try:
        await sleep("60s")
    except CancellationError:
        async with shield():
            await cleanup(tag)
        raise
    return "not reached"
