"""``@scheduled_workflow``: a workflow that brings its own schedule.

The schedule is declared, not created, and only by a worker: when a Celery worker
that has imported the module starts (``worker_init``, in its main process), it sends
the ``declare`` message, whose id is derived from the spec, so repeats (every worker,
every restart) are dropped by the actor and only a changed spec updates the
schedule. A pause is kept across restarts; a deleted declared schedule stays deleted
until its spec changes. The spec is checked at import time: a bad cron expression or
timezone (or anything outside ``limits``) fails the import with a clear error.

Why only workers: importing a module is not a request to schedule anything. Apps,
the CLI (``workflows list``, the demo) and a package that imports all its examples
used to declare every schedule they happened to import, in whatever Redis they
pointed at (importing example 01 declared example 12's nightly schedule). A schedule
fires on a worker anyway, so the worker that can run it is the one that declares it.
A module imported after its worker started (a lazy import in a task) declares at
once, since the process already is a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from celery import signals

from .. import ids
from ..workflow_api.decorators import workflow
from .api import build_spec, declare_schedule
from .spec import ScheduleSpec, check_schedule_id

_lock = threading.Lock()
#: The schedules this process's modules declare, by id, sent when a worker starts.
_declared: dict[str, ScheduleSpec] = {}
_worker_started = False


def scheduled_workflow(fn: Any = None, /, *, cron: str | None = None, interval: Any = None,
                       timezone: str = "UTC", overlap: str = "skip",
                       schedule_id: str | None = None, args: Sequence[Any] = (),
                       kwargs: dict[str, Any] | None = None, start_at: Any = None,
                       end_at: Any = None, jitter: Any = None, name: str | None = None,
                       **options: Any) -> Any:
    """``@workflow`` plus a schedule (id ``sched-<workflow name>`` unless given),
    declared by the workers that import it."""

    def decorate(func: Any) -> Any:
        wrapped = workflow(name=name, **options)(func)
        spec = build_spec(wrapped, cron=cron, interval=interval, args=args, kwargs=kwargs,
                          overlap=overlap, timezone=timezone, start_at=start_at,
                          end_at=end_at, jitter=jitter)
        sid = check_schedule_id(ids.schedule_id(schedule_id or spec.workflow))
        with _lock:
            _declared[sid] = spec
            now = _worker_started
        if now:
            declare_schedule(sid, spec)
        wrapped.__pyworkflow_schedule_id__ = sid
        return wrapped

    return decorate(fn) if fn is not None else decorate


def declared_schedules() -> dict[str, ScheduleSpec]:
    """What this process's imported modules declare (sent only by a worker)."""
    with _lock:
        return dict(_declared)


def _on_worker_init(**_: Any) -> None:
    """A worker is starting with its modules imported: declare their schedules."""
    global _worker_started
    with _lock:
        _worker_started = True
        pending = list(_declared.items())
    for sid, spec in pending:
        declare_schedule(sid, spec)


signals.worker_init.connect(_on_worker_init, weak=False)
