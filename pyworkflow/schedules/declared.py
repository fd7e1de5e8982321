"""``@scheduled_workflow``: a workflow that brings its own schedule.

The schedule is declared, not created: every process that imports the module and
builds the runtime (workers, apps, the CLI) sends the same ``declare`` message,
whose id is derived from the spec, so repeats are dropped by the actor and only a
changed spec updates the schedule. A pause is kept across restarts; a deleted
declared schedule stays deleted until its spec changes. The spec is checked at
import time: a bad cron expression or timezone (or anything outside ``limits``)
fails the import with a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import ids
from ..worker._runtime import Runtime, on_runtime
from ..workflow_api.decorators import workflow
from .api import build_spec, declare_schedule
from .spec import check_schedule_id


def scheduled_workflow(fn: Any = None, /, *, cron: str | None = None, interval: Any = None,
                       timezone: str = "UTC", overlap: str = "skip",
                       schedule_id: str | None = None, args: Sequence[Any] = (),
                       kwargs: dict[str, Any] | None = None, start_at: Any = None,
                       end_at: Any = None, jitter: Any = None, name: str | None = None,
                       **options: Any) -> Any:
    """``@workflow`` plus a schedule (id ``sched-<workflow name>`` unless given)."""

    def decorate(func: Any) -> Any:
        wrapped = workflow(name=name, **options)(func)
        spec = build_spec(wrapped, cron=cron, interval=interval, args=args, kwargs=kwargs,
                          overlap=overlap, timezone=timezone, start_at=start_at,
                          end_at=end_at, jitter=jitter)
        sid = check_schedule_id(ids.schedule_id(schedule_id or spec.workflow))

        def declare(_rt: Runtime) -> None:
            declare_schedule(sid, spec)

        on_runtime(declare)
        wrapped.__pyworkflow_schedule_id__ = sid
        return wrapped

    return decorate(fn) if fn is not None else decorate
