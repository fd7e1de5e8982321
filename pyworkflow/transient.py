"""Transient runs: a workflow called in this process, with nothing journaled.

``@workflow(durable=False)``, ``workflows run --no-durable`` or ``run_transient(wf,
...)`` call the workflow function directly. There is no run for the engine to
replay, so ``in_workflow()`` is None and the primitives fall back to plain
behaviour: ``sleep`` is ``asyncio.sleep`` (a real wait), ``now`` is the wall clock.

Steps still follow their retry policy, because a flaky API is as flaky in a
script as on a worker. While a transient run is active, calling a step returns an
awaitable (as in a durable run) that makes up to ``max_retries + 1`` attempts,
waiting ``retry_delay`` (or a ``RetryableError``'s ``retry_after``) in between; a
``FatalError`` fails at once. The workflow sees what a durable one would: the
step's ``FatalError``/``RetryableError``, or ``StepFailedError`` for anything else.

What a transient run gives up, by design: nothing survives the process (no
journal, no resume, no ``runs`` commands), arguments are not copied through JSON,
step ``timeout`` is not enforced, and hooks, signals and child workflows need a
durable run.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._start_plan import workflow_def
from .errors import CancellationError, FatalError, RetryableError, StepFailedError
from .ids import new_run_id
from .registry import StepDef
from .retry import retry_delay_ms
from .step_context import StepContext, reset_step_context, set_step_context

logger = logging.getLogger("pyworkflow.transient")

#: Errors a durable run hands to the workflow as themselves (not ``StepFailedError``).
_OWN_ERRORS = (FatalError, RetryableError, CancellationError)


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
    token = _active.set(TransientRun(new_run_id(), defn.name))
    try:
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
    attempt = 1
    while True:
        outcome = await _attempt(run, call_id, defn, attempt, args, kwargs)
        if not isinstance(outcome, _Failure):
            return outcome.value
        delay_s = outcome.delay_s(defn, attempt)
        if delay_s is None:
            final = outcome.final(defn, attempt)
            if final is outcome.exc:
                raise final
            raise final from outcome.exc
        logger.warning("step %s attempt %d failed (%s: %s); retrying in %.3gs", defn.name,
                       attempt, type(outcome.exc).__name__, outcome.exc, delay_s)
        await asyncio.sleep(delay_s)
        attempt += 1


@dataclass
class _Value:
    value: Any


@dataclass
class _Failure:
    exc: Exception

    def delay_s(self, defn: StepDef, attempt: int) -> float | None:
        """Seconds before the next attempt, or None when there is none (as the engine
        decides for a durable run)."""
        if isinstance(self.exc, FatalError) or attempt > defn.max_retries:
            return None
        now_ms = int(time.time() * 1000)
        if isinstance(self.exc, RetryableError):
            due_ms = self.exc.retry_after_ms(now_ms)
            if due_ms is not None:
                return max(0, due_ms - now_ms) / 1000
        return retry_delay_ms(defn.retry_delay, attempt) / 1000

    def final(self, defn: StepDef, attempt: int) -> Exception:
        if isinstance(self.exc, _OWN_ERRORS):
            return self.exc
        return StepFailedError(defn.name, type(self.exc).__name__, str(self.exc),
                               "".join(traceback.format_exception(self.exc)), attempt)


async def _attempt(run: TransientRun, call_id: int, defn: StepDef, attempt: int,
                   args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Value | _Failure:
    token = set_step_context(StepContext(run.run_id, call_id, defn.name, attempt))
    try:
        fn: Callable[..., Any] = defn.fn
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return _Value(result)
    except Exception as exc:
        return _Failure(exc)
    finally:
        reset_step_context(token)
