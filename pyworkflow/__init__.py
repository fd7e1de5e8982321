"""pyworkflow: durable, event-sourced Python workflows on Celery workers.

    from pyworkflow import workflow, step, sleep, start

    @step(max_retries=3)
    async def charge(order_id: str, amount: float) -> dict: ...

    @workflow()
    async def order_workflow(order_id: str, amount: float) -> dict:
        await sleep("30s")
        return await charge(order_id, amount)

    run_id = start(order_workflow, "order-123", 99.99)
"""


from .children import ChildWorkflowHandle, ParentClosePolicy, start_child_workflow
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
from .continuation import continue_as_new
from .decorators import step, workflow
from .errors import (
    CancellationError,
    ChildWorkflowFailedError,
    FatalError,
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
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
    WorkflowFailedError,
    WorkflowNotFoundError,
    WorkflowTimeoutError,
)
from .hooks import HookPayloadError, TypedHook, define_hook, get_hook, hook, list_hooks, resume_hook
from .local_runtime import run_local
from .patching import deprecate_patch, patched
from .primitives import is_replaying, now, shield, sleep
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
from .serialization import SerializationError
from .signals import wait_for_signal
from .step_context import StepContext, get_step_context
from .transient import run_transient
from .values import set_value

__all__ = [
    "ChildWorkflowHandle", "HookPayloadError", "ParentClosePolicy", "TypedHook",
    "cancel_workflow", "define_hook", "get_hook", "hook", "list_hooks", "resume_hook", "shield",
    "retry_run", "start_child_workflow",
    "TERMINAL_STATUSES", "CancellationError", "ChildWorkflowFailedError", "FatalError",
    "HookAlreadyReceivedError", "HookExpiredError", "HookNotFoundError", "IdempotencyKeyUsedError",
    "MaxNestingDepthError",
    "NonDeterminismError", "PyWorkflowError", "RetryableError", "RunInfo", "RunNotFoundError",
    "SerializationError", "StepContext", "StepFailedError", "StepTimeoutError",
    "WorkflowFailedError", "WorkflowNotFoundError", "get_result", "get_step_context",
    "get_workflow_events", "get_workflow_run", "is_replaying", "list_workflow_runs", "now",
    "sleep", "start", "step", "wait_for_run", "workflow",
    "SignalTimeoutError", "WorkflowTimeoutError", "deprecate_patch", "patched", "set_value",
    "wait_for_signal", "app_key", "redis_connection", "continue_as_new", "get_value",
    "get_values", "run_chain", "send_signal", "RunFinishedError", "ValueNotSetError",
    "run_local", "run_transient", "backfill_schedule", "create_schedule", "delete_schedule",
    "get_schedule", "list_schedules", "pause_schedule", "resume_schedule", "trigger_schedule",
    "update_schedule", "scheduled_workflow", "InvalidScheduleError", "ScheduleExistsError",
    "ScheduleNotFoundError", "ScheduleInfo",
]
