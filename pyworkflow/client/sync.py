"""The client API for apps, synchronous: start runs, read their state and journals.

Each call is a few Redis round trips, so these work from plain sync code (Django
views, scripts, Celery tasks). Async apps use :mod:`pyworkflow.client.aio`, the same
functions on ``redis.asyncio``: the operations are written once, in
:mod:`pyworkflow.client.core`, and each face only drives them (here, on the sync
Redis client). For code written against the product we replace,
the quick calls' values can also be awaited (``run_id = await start(...)``), and a
*waiting* call (``wait_for_run``, ``get_result``, ``cancel_workflow(wait=True)``)
made from inside a running event loop does not block it: it returns an awaitable
that waits through ``pyworkflow.client.aio`` (see :class:`LoopWait`).

Waiting for a run is woken by Redis: a blocking read on the run's journal (every
status change is a journal event, committed with the record), never a sleep loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

from ..errors import RunNotFoundError
from ..ids import RUN_ID_PREFIX
from ..run_info import TERMINAL_STATUSES, RunId, RunInfo
from ..worker._runtime import runtime
from ..worker.idempotency import IfFinished
from . import aio, flow_start
from . import core as client_core
from .run_queries import MAX_LIST_LIMIT, check_limit, check_value_key, result_of

__all__ = ["MAX_LIST_LIMIT", "RUN_ID_PREFIX", "TERMINAL_STATUSES", "LoopWait", "RunId", "RunInfo",
           "app_key", "check_limit", "redis_connection", "result_of",
           "cancel_workflow", "get_result", "get_workflow_events", "get_workflow_run",
           "get_value", "get_values", "list_workflow_runs", "retry_run", "send_signal", "start",
           "wait_for_run"]

T = TypeVar("T")


def redis_connection() -> Any:
    """The Redis client pyworkflow uses in this process, resolved from the configuration
    (the embedded server's, when that is the one configured).

    For an app's own small records that should live beside its runs (under
    :func:`app_key`), without a second connection setting to keep in step. Never write
    pyworkflow's own keys with it: they are the runtime's.
    """
    return runtime().redis


def app_key(name: str) -> str:
    """A Redis key for an app's own data: ``<key prefix>:app:<name>``.

    Under the deployment's key prefix, so independent deployments (and test sessions)
    sharing one Redis never see each other's data, and apart from every key pyworkflow
    itself writes. On a Redis Cluster, keys that one script or transaction touches
    together must share a hash tag: put it in ``name`` (``app_key("{ledger}:charges")``).
    """
    return f"{runtime().settings.key_prefix}:app:{name}"


def _drive(op: client_core.Op[T]) -> T:
    """Run one operation on the sync Redis client (see :mod:`pyworkflow.client.core`)."""
    redis = runtime().redis
    run = client_core.Drive(op)
    while (request := run.request) is not None:
        try:
            reply = request.call() if isinstance(request, client_core.Offload) \
                else request.on(redis)
        except BaseException as exc:
            run.fail(exc)
        else:
            run.reply(reply)
    return run.result


def start(workflow_or_name: Any, *args: Any, idempotency_key: str | None = None,
          if_finished: IfFinished = "return", queue: str | None = None,
          priority: int | None = None, debounce: Any = None, key: str | None = None,
          if_running: str | None = None, **kwargs: Any) -> RunId:
    """Start a run and return its id.

    Arguments are checked against the workflow's signature and must be
    JSON-serialisable (see ``serialization``); nothing is written when they are not.
    A start that fails (Redis or the broker down) undoes what it wrote and raises:
    no run is left ``pending`` forever. With ``idempotency_key`` the same key gives
    the same run (see :mod:`pyworkflow.worker.idempotency` for ``if_finished``); the
    returned id's ``created`` is False when it is that existing run. ``queue`` and
    ``priority`` (0..9, higher first) route the run over what its workflow declares
    (see ``pyworkflow.routing``).

    ``debounce="5s", key=K``: starts within the window (which begins again at each one)
    make one run, begun with the last one's arguments; ``key=K, if_running="return"``:
    a running run of the same key is returned instead of starting another,
    ``"cancel_previous"`` cancels it and starts this one (docs/guides/flow-control.md).
    A workflow argument named ``debounce``, ``key`` or ``if_running`` is passed
    positionally.
    """
    return _drive(flow_start.start(runtime(), workflow_or_name, args, kwargs,
                                   idempotency_key, if_finished, queue, priority,
                                   debounce, key, if_running))


def get_workflow_run(run_id: str) -> RunInfo:
    return _drive(client_core.get_workflow_run(runtime(), run_id))


def get_workflow_events(run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    return _drive(client_core.get_workflow_events(runtime(), run_id, after_seq))


def list_workflow_runs(status: str | None = None, workflow: str | None = None,
                       limit: int = 50) -> list[RunInfo]:
    """Newest first, filtered by status and workflow name."""
    return _drive(client_core.list_workflow_runs(runtime(), status, workflow, limit))


def cancel_workflow(run_id: str, reason: str | None = None, wait: bool = False,
                    timeout: float | None = None) -> RunInfo:
    """Ask a run to cancel: a message to its actor, then an event in its journal.

    The workflow is woken at its next checkpoint (a sleep or hook wait is interrupted
    at once) and its cleanup runs. A finished run is left unchanged: the returned
    info shows its final status. With ``wait`` this returns once the run is terminal.
    """
    if wait and _in_event_loop():
        return LoopWait(lambda: aio.cancel_workflow(run_id, reason, wait, timeout))  # type: ignore[return-value]
    return _drive(client_core.cancel_workflow(runtime(), run_id, reason, wait, timeout))


def retry_run(run_id: str) -> RunInfo:
    """An operator's retry, after fixing what stopped the run.

    A ``parked`` run resumes where it stopped, replayed with the code the workers
    run now (a step parked as poison gets a new attempt). A ``failed`` run re-opens
    from its failed step, which gets a new attempt; the failure stays in the journal,
    marked superseded. A ``pending`` run that never got its start message (its
    starter died) gets it. Other statuses are left unchanged (returned as they are).
    """
    return _drive(client_core.retry_run(runtime(), run_id))


def wait_for_run(run_id: str, timeout: float | None = None, follow: bool = False) -> RunInfo:
    """Block until the run is finished (or parked); returns its final state. With
    ``follow``, a run that continued as new is followed to the last run of its chain
    (``timeout`` covers the whole chain).

    Woken by the run's own journal (XREAD BLOCK), so it returns within a few ms of
    the run's end. Inside a running event loop it returns an awaitable instead of
    blocking the loop (``await wait_for_run(...)``); prefer ``pyworkflow.client.aio``.
    """
    if _in_event_loop():
        return LoopWait(lambda: aio.wait_for_run(run_id, timeout, follow))  # type: ignore[return-value]
    return _drive(client_core.wait_for_run(runtime(), run_id, timeout, follow))


def send_signal(run_id: str, name: str, payload: Any = None,
                signal_id: str | None = None) -> str:
    """Send the run a signal named ``name``; returns the signal's id.

    The workflow takes it with ``await wait_for_signal(name)``: signals that arrive
    before it waits are kept, in order, and each is delivered once. Refused, with
    nothing sent, when the name is not a non-empty string, the payload is not JSON
    (the project's codec) or is over the input limits (``SerializationError``), the
    run does not exist (``RunNotFoundError``) or has finished (``RunFinishedError``).
    Pass your own ``signal_id`` to make a retried send one signal.
    """
    return _drive(client_core.send_signal(runtime(), run_id, name, payload, signal_id))


def get_values(run_id: str) -> dict[str, Any]:
    """Every value the run has published (``set_value``): key -> latest value."""
    return _drive(client_core.get_values(runtime(), run_id))


def get_value(run_id: str, key: str, timeout: float | None = None) -> Any:
    """The latest value the run published under ``key``.

    Without ``timeout``: at once, or ``ValueNotSetError`` (a ``LookupError``) when it
    has not been set. With ``timeout`` (seconds): waits for the run to set it, woken
    by the run's journal (a blocking read, as :func:`wait_for_run`); ``TimeoutError``
    when the time passes first, ``ValueNotSetError`` as soon as the run ends (or
    parks) without setting it.
    """
    check_value_key(key)  # at the call, also when the wait is awaited later
    if timeout is not None and _in_event_loop():
        return LoopWait(lambda: aio.get_value(run_id, key, timeout))
    return _drive(client_core.get_value(runtime(), run_id, key, timeout))


def get_result(run_id: str, timeout: float | None = None, follow: bool = False) -> Any:
    """The run's result; raises ``WorkflowFailedError`` if it did not complete. With
    ``follow``, the result of the last run of its continue-as-new chain."""
    if _in_event_loop():
        return LoopWait(lambda: aio.get_result(run_id, timeout, follow))
    return _drive(client_core.get_result(runtime(), run_id, timeout, follow))


def run_chain(run_id: str) -> list[RunInfo]:
    """Every run of ``run_id``'s continue-as-new chain, oldest first."""
    info = get_workflow_run(run_id)
    while info.continued_from:
        info = get_workflow_run(info.continued_from)
    chain = [info]
    while chain[-1].continued_to:
        try:
            chain.append(get_workflow_run(chain[-1].continued_to))
        except RunNotFoundError:
            break  # the successor's first turn has not projected its record yet
    return chain


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class LoopWait:
    """What a waiting call returns when made inside a running event loop: an awaitable
    that waits without blocking the loop. Using it as the value itself (without
    ``await``) is an error that says what to do, never a silent stall."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._make = make

    def __await__(self) -> Generator[Any, None, Any]:
        return self._make().__await__()

    def __getattr__(self, name: str) -> Any:
        raise TypeError("this call waits, and it was made inside a running event loop: "
                        "await it, or use pyworkflow.aio (e.g. `await "
                        "pyworkflow.aio.wait_for_run(run_id)`)")

