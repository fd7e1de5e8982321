"""The app half: what an application calls to start runs and read them.

``pyworkflow.client`` is the synchronous client (``sync``); the same operations on
``redis.asyncio`` are :mod:`pyworkflow.client.aio`. Both only drive the operations
written once in ``core`` (each a generator yielding its Redis requests); what they
decide without I/O is in ``run_queries``. ``hooks`` delivers payloads to waiting runs
(the workflow half of hooks is :mod:`pyworkflow.workflow_api.hooks`). ``demo`` is the
``python3 dev.py demo`` script: an app that starts a worker process and runs a workflow.

The client stands on the worker package (the process's runtime, the Redis ports), never
the reverse.
"""

from .sync import (
    MAX_LIST_LIMIT,
    RUN_ID_PREFIX,
    TERMINAL_STATUSES,
    LoopWait,
    RunId,
    RunInfo,
    app_key,
    cancel_workflow,
    check_limit,
    get_result,
    get_value,
    get_values,
    get_workflow_events,
    get_workflow_run,
    list_workflow_runs,
    redis_connection,
    result_of,
    retry_run,
    run_chain,
    send_signal,
    start,
    wait_for_run,
)

__all__ = ["MAX_LIST_LIMIT", "RUN_ID_PREFIX", "TERMINAL_STATUSES", "LoopWait", "RunId", "RunInfo",
           "app_key", "cancel_workflow", "check_limit", "get_result", "get_value", "get_values",
           "get_workflow_events", "get_workflow_run", "list_workflow_runs", "redis_connection",
           "result_of", "retry_run", "run_chain", "send_signal", "start", "wait_for_run"]
