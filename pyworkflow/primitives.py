"""What workflow code awaits besides steps: durable sleep and workflow time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ._context import in_workflow
from .durations import parse_duration


async def sleep(duration: Any) -> None:
    """Suspend the run for ``duration`` ("30s", "5m", "1h30m", "1.5h", "2d", seconds, a
    timedelta) or until a datetime. Durable: the run holds no worker while it sleeps,
    survives restarts, and never wakes early. Outside a workflow it is
    ``asyncio.sleep``."""
    run = in_workflow()
    if run is None:
        import asyncio

        if isinstance(duration, dt.datetime):
            aware = duration if duration.tzinfo else duration.replace(tzinfo=dt.UTC)
            seconds = max(0.0, (aware - dt.datetime.now(dt.UTC)).total_seconds())
        else:
            seconds = parse_duration(duration)
        await asyncio.sleep(seconds)
        return
    await run.schedule_sleep(duration)


def now() -> dt.datetime:
    """The run's current time, from its journal (deterministic on replay)."""
    run = in_workflow()
    if run is None:
        return dt.datetime.now(dt.UTC)
    return dt.datetime.fromtimestamp(run.now_ms / 1000, dt.UTC)


def is_replaying() -> bool:
    """True while the run's code re-executes history (e.g. to skip log lines)."""
    run = in_workflow()
    return run is not None and run.ctx is None
