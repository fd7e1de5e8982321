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
"""

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
# A Celery task as a step: installs step.from_task (pyworkflow.adopt).
from .adopt import task_step as _task_step  # noqa: F401

# isort: split
# In-process runs: no worker.
from .local.runtime import run_local
from .local.transient import run_transient

# isort: split
# Old flat module paths keep importing (pyworkflow._moved).
from . import _moved

_moved.install()

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
