"""pyworkflow: durable, event-sourced Python workflows on Celery workers.

    from pyworkflow import workflow, step, sleep, start

    @step(max_retries=3)
    async def charge(order_id: str, amount: float) -> dict: ...

    @workflow()
    async def order_workflow(order_id: str, amount: float) -> dict:
        await sleep("30s")
        return await charge(order_id, amount)

    run_id = start(order_workflow, "order-123", 99.99)

Everything below is importable from here. The package has two public halves, with
the same names at their own paths:

* workflow code (decorators, primitives, signals, hooks, children, steps' context):
  :mod:`pyworkflow.workflow_api`. Nothing there reaches Redis or Celery.
* app code (start runs, read them, signal, cancel, deliver hook payloads):
  :mod:`pyworkflow.client` (sync) and :mod:`pyworkflow.client.aio` (asyncio).

Behind them: :mod:`pyworkflow.worker` (the Celery tasks and the Redis ports),
:mod:`pyworkflow.local` (the in-process runtimes ``run_local``, ``run_transient`` and
:mod:`pyworkflow.testing` stand on), :mod:`pyworkflow.engine` (pure: a run's turns) and
the shared vocabulary at this level (ids, keys, events, errors, serialization, config).
Old flat module paths (``pyworkflow.aio``, ``pyworkflow.local_runtime``, ...) still
import: see :mod:`pyworkflow._moved`.

The names load when first used (PEP 562: the module's ``__getattr__`` below), so
``import pyworkflow`` costs almost nothing, importing :mod:`pyworkflow.engine` through
the package loads no Redis or Celery client, and the ``pyworkflow`` command line pays
only for the command it runs. The ``TYPE_CHECKING`` block names every export for type
checkers and IDEs; :data:`_HOMES` says where each one lives at run time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Old flat module paths keep importing (pyworkflow._moved): installed at once, since an
# old path may be the first thing a program imports.
from . import _moved

_moved.install()

if TYPE_CHECKING:
    # Workflow code: what a workflow or a step may call.
    from .workflow_api import (
        ChildWorkflowHandle,
        ParentClosePolicy,
        StepContext,
        TypedHook,
        continue_as_new,
        define_hook,
        deprecate_patch,
        get_logger,
        get_step_context,
        hook,
        is_replaying,
        now,
        patched,
        set_value,
        shield,
        sleep,
        start_child_workflow,
        step,
        wait_for_signal,
        workflow,
    )

    # isort: split
    # App code: start runs, read them, talk to them.
    from .client import (
        TERMINAL_STATUSES,
        RunInfo,
        app_key,
        cancel_workflow,
        get_result,
        get_value,
        get_values,
        get_workflow_events,
        get_workflow_run,
        list_workflow_runs,
        redis_connection,
        retry_run,
        run_chain,
        send_signal,
        start,
        wait_for_run,
    )
    from .client.hooks import get_hook, list_hooks, resume_hook

    # isort: split
    # Errors.
    from .errors import (
        CancellationError,
        ChildWorkflowFailedError,
        FatalError,
        HookAlreadyReceivedError,
        HookExpiredError,
        HookNotFoundError,
        HookPayloadError,
        IdempotencyKeyUsedError,
        MaxNestingDepthError,
        NonDeterminismError,
        PyWorkflowError,
        RetryableError,
        RunFinishedError,
        RunNotFoundError,
        SignalTimeoutError,
        StepFailedError,
        StepTimeoutError,
        ValueNotSetError,
        WorkflowCancelledError,
        WorkflowFailedError,
        WorkflowNotFoundError,
        WorkflowTimeoutError,
    )
    from .serialization import SerializationError

    # isort: split
    # Schedules.
    from .schedules.api import (
        backfill_schedule,
        create_schedule,
        delete_schedule,
        get_schedule,
        list_schedules,
        pause_schedule,
        resume_schedule,
        trigger_schedule,
        update_schedule,
    )
    from .schedules.declared import scheduled_workflow
    from .schedules.errors import InvalidScheduleError, ScheduleExistsError, ScheduleNotFoundError
    from .schedules.info import ScheduleInfo

    # isort: split
    # Flow control: concurrency limits, bounded fan-out (docs/guides/flow-control.md).
    from .flow import Limit
    from .workflow_api.fan_out import map  # noqa: A004

    # isort: split
    # In-process runs: no worker.
    from .local.runtime import run_local
    from .local.transient import run_transient

#: Where each export lives at run time: the module ``__getattr__`` imports on first use.
_HOMES: dict[str, str] = {
    **dict.fromkeys((
        "ChildWorkflowHandle", "ParentClosePolicy", "StepContext", "TypedHook",
        "continue_as_new", "define_hook", "deprecate_patch", "get_logger", "get_step_context",
        "hook", "is_replaying", "now", "patched", "set_value", "shield", "sleep",
        "start_child_workflow", "step", "wait_for_signal", "workflow"),
        "pyworkflow.workflow_api"),
    **dict.fromkeys((
        "TERMINAL_STATUSES", "RunInfo", "app_key", "cancel_workflow", "get_result",
        "get_value", "get_values", "get_workflow_events", "get_workflow_run",
        "list_workflow_runs", "redis_connection", "retry_run", "run_chain", "send_signal",
        "start", "wait_for_run"),
        "pyworkflow.client"),
    **dict.fromkeys(("get_hook", "list_hooks", "resume_hook"), "pyworkflow.client.hooks"),
    **dict.fromkeys((
        "CancellationError", "ChildWorkflowFailedError", "FatalError",
        "HookAlreadyReceivedError", "HookExpiredError", "HookNotFoundError",
        "HookPayloadError", "IdempotencyKeyUsedError", "MaxNestingDepthError",
        "NonDeterminismError", "PyWorkflowError", "RetryableError", "RunFinishedError",
        "RunNotFoundError", "SignalTimeoutError", "StepFailedError", "StepTimeoutError",
        "ValueNotSetError", "WorkflowCancelledError", "WorkflowFailedError",
        "WorkflowNotFoundError", "WorkflowTimeoutError"),
        "pyworkflow.errors"),
    "SerializationError": "pyworkflow.serialization",
    **dict.fromkeys((
        "backfill_schedule", "create_schedule", "delete_schedule", "get_schedule",
        "list_schedules", "pause_schedule", "resume_schedule", "trigger_schedule",
        "update_schedule"),
        "pyworkflow.schedules.api"),
    "scheduled_workflow": "pyworkflow.schedules.declared",
    **dict.fromkeys(("InvalidScheduleError", "ScheduleExistsError", "ScheduleNotFoundError"),
                    "pyworkflow.schedules.errors"),
    "ScheduleInfo": "pyworkflow.schedules.info",
    "Limit": "pyworkflow.flow",
    "map": "pyworkflow.workflow_api.fan_out",
    "run_local": "pyworkflow.local.runtime",
    "run_transient": "pyworkflow.local.transient",
}


if not TYPE_CHECKING:
    # Hidden from type checkers, which know every export from the block above: seen, it
    # would make any attribute of the module (a typo too) type-check as Any.
    def __getattr__(name: str) -> Any:
        """An export, imported from its home on first use and kept in this module after."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'pyworkflow' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        if home.startswith("pyworkflow.workflow_api"):
            # The workflow half is loaded now: give it ``step.from_task`` (and ``@step`` on a
            # Celery task), through an adapter that loads Celery only when a task is adopted.
            from .adopt import task_adapter

            task_adapter.install()
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    # workflow code
    "ChildWorkflowHandle", "ParentClosePolicy", "StepContext", "TypedHook", "continue_as_new",
    "define_hook", "deprecate_patch", "get_logger", "get_step_context", "hook", "is_replaying",
    "now",
    "patched", "set_value", "shield", "sleep", "start_child_workflow", "step",
    "wait_for_signal", "workflow",
    # app code
    "TERMINAL_STATUSES", "RunInfo", "app_key", "cancel_workflow", "get_hook", "get_result",
    "get_value", "get_values", "get_workflow_events", "get_workflow_run", "list_hooks",
    "list_workflow_runs", "redis_connection", "resume_hook", "retry_run", "run_chain",
    "send_signal", "start", "wait_for_run",
    # errors
    "CancellationError", "ChildWorkflowFailedError", "FatalError", "HookAlreadyReceivedError",
    "HookExpiredError", "HookNotFoundError", "HookPayloadError", "IdempotencyKeyUsedError",
    "MaxNestingDepthError", "NonDeterminismError", "PyWorkflowError", "RetryableError",
    "RunFinishedError", "RunNotFoundError", "SerializationError", "SignalTimeoutError",
    "StepFailedError", "StepTimeoutError", "ValueNotSetError", "WorkflowCancelledError",
    "WorkflowFailedError",
    "WorkflowNotFoundError", "WorkflowTimeoutError",
    # schedules
    "InvalidScheduleError", "ScheduleExistsError", "ScheduleInfo", "ScheduleNotFoundError",
    "backfill_schedule", "create_schedule", "delete_schedule", "get_schedule",
    "list_schedules", "pause_schedule", "resume_schedule", "scheduled_workflow",
    "trigger_schedule", "update_schedule",
    # in-process runs
    "run_local", "run_transient",
    # flow control
    "Limit", "map",
]
