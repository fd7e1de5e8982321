"""Transient runs: a workflow called in this process, with nothing journaled.

``@workflow(durable=False)``, ``workflows run --no-durable`` or ``run_transient(wf,
...)`` call the workflow function directly. There is no run for the engine to
replay, so ``in_workflow()`` is None and the primitives fall back to plain
behaviour: ``sleep`` is ``asyncio.sleep`` (a real wait), ``now`` is the wall clock.

Steps still follow their retry policy, because a flaky API is as flaky in a
script as on a worker. While a transient run is active, calling a step returns an
awaitable (as in a durable run) that makes up to ``max_retries + 1`` attempts,
waiting ``retry_delay`` (or a ``RetryableError``'s ``retry_after``) in between; a
``FatalError`` (or subclass) fails at once. The attempt, the retry decision and the
error the workflow sees are the durable runtimes' own (``step_attempt``,
``retry.next_attempt_ms``, ``errors.step_error``): pyworkflow's own error classes
as themselves, anything else as ``StepFailedError`` (its ``__cause__`` is the
original exception, which only a transient run still has).

What a transient run gives up, by design: nothing survives the process (no
journal, no resume, no ``runs`` commands), arguments are not copied through JSON,
and hooks, signals and child workflows need a durable run. A step's ``timeout`` holds
as on every runtime (``step_timeout``): an ``async`` step is cancelled at it, a sync
one that overran has its result discarded; either fails with ``StepTimeoutError``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

import structlog

from .._start_plan import workflow_def
from ..errors import step_error
from ..ids import new_run_id
from ..registry import StepDef
from ..retry import next_attempt_ms
from ..step_attempt import Attempt
from ..step_context import StepContext
from ..step_timeout import await_body

logger = logging.getLogger("pyworkflow.transient")


@dataclass
class TransientRun:
    """The one thing a transient run keeps: an id and a count of step calls, so each
    attempt's ``get_step_context()`` has a stable idempotency key."""

    run_id: str
    workflow: str
    calls: int = 0


_active: contextvars.ContextVar[TransientRun | None] = contextvars.ContextVar(
    "pyworkflow_transient_run", default=None)


def current_transient_run() -> TransientRun | None:
    return _active.get()


def is_transient(workflow_or_name: Any) -> bool:
    """Whether a workflow was declared ``@workflow(durable=False)``."""
    return workflow_def(workflow_or_name).options.get("durable") is False


async def run_transient_async(workflow: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``workflow`` to its result in the current event loop; nothing is journaled."""
    defn = workflow_def(workflow)
    defn.signature.bind(*args, **kwargs)  # the same argument check a durable start makes
    run = TransientRun(new_run_id(), defn.name)
    token = _active.set(run)
    try:
        # Its log lines carry the run, as a durable run's do (``engine.run``).
        with structlog.contextvars.bound_contextvars(run_id=run.run_id, workflow=run.workflow):
            result = defn.fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        return result
    finally:
        _active.reset(token)


def run_transient(workflow: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``workflow`` to its result in this process (its own event loop)."""
    return asyncio.run(run_transient_async(workflow, *args, **kwargs))


def call_step(defn: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A step called outside a durable run: a plain call, unless a transient run is
    active, where it becomes an awaitable that applies the retry policy."""
    run = _active.get()
    if run is None:
        return defn.fn(*args, **kwargs)
    run.calls += 1
    return _attempts(run, run.calls, defn, args, kwargs)


async def _attempts(run: TransientRun, call_id: int, defn: StepDef, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
    """The step's attempts, decided as a durable run decides them: the same frame
    (:class:`Attempt`), the same policy (:func:`next_attempt_ms`) and the same error
    in the workflow (:func:`step_error`)."""
    attempt = 1
    while True:
        ctx = StepContext(run.run_id, call_id, defn.name, attempt, workflow=run.workflow)
        with Attempt(ctx, _now_ms, encode_result=False) as frame:
            frame.succeed(await await_body(defn.fn, args, kwargs, defn.timeout, defn.name))
        outcome = frame.outcome
        if outcome.ok:
            return outcome.result
        failure, now_ms = outcome.failure, _now_ms()
        due_ms = next_attempt_ms(failure, attempt, defn.max_retries + 1, defn.retry_delay,
                                 now_ms)
        if due_ms is None:
            error = step_error(defn.name, failure.error_type, failure.error,
                               error_class=failure.error_class, traceback=failure.traceback,
                               fatal=failure.fatal, attempts=attempt)
            if frame.exc is not None and type(error) is type(frame.exc):
                raise frame.exc  # one of ours: the very exception, as the rule rebuilds it
            raise error from frame.exc
        delay_s = max(0, due_ms - now_ms) / 1000
        logger.warning("step %s attempt %d failed (%s: %s); retrying in %.3gs", defn.name,
                       attempt, failure.error_type, failure.error, delay_s)
        await asyncio.sleep(delay_s)
        attempt += 1


def _now_ms() -> int:
    return int(time.time() * 1000)
