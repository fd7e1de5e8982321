"""What workflow code awaits besides steps: durable sleep, workflow time, shield().

Thin by design (as in Temporal's SDK): each primitive finds the run it is called
from and hands the work to the engine's command for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from ..durations import parse_duration
from ..engine import in_workflow, shield_depth
from ..engine.commands import SLEEP


async def sleep(duration: Any) -> None:
    """Suspend the run for ``duration`` ("30s", "5m", "1h30m", "1.5h", "2d", seconds, a
    timedelta) or until a datetime. Durable: the run holds no worker while it sleeps,
    survives restarts, and never wakes early. Outside a workflow it is
    ``asyncio.sleep``."""
    run = in_workflow()
    if run is None:
        if isinstance(duration, dt.datetime):
            aware = duration if duration.tzinfo else duration.replace(tzinfo=dt.UTC)
            seconds = max(0.0, (aware - dt.datetime.now(dt.UTC)).total_seconds())
        else:
            seconds = parse_duration(duration)
        await asyncio.sleep(seconds)
        return
    await SLEEP.schedule(run, duration)


def now() -> dt.datetime:
    """The run's current time, from its journal (deterministic on replay)."""
    run = in_workflow()
    if run is None:
        return dt.datetime.now(dt.UTC)
    return dt.datetime.fromtimestamp(run.now_ms / 1000, dt.UTC)


def is_replaying() -> bool:
    """True while the run's code re-executes history (e.g. to skip log lines)."""
    run = in_workflow()
    return run is not None and not run.live


@contextlib.asynccontextmanager
async def shield() -> AsyncIterator[None]:
    """Run cleanup (steps, sleeps, hooks) normally even though the run is being
    cancelled: checkpoints inside do not raise, and waits begun inside are not
    interrupted by the cancel."""
    token = shield_depth.set(shield_depth.get() + 1)
    try:
        yield
    finally:
        shield_depth.reset(token)
