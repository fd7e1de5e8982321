"""One attempt of a step, run the same way on every runtime.

The Celery step task, the test environment's step runner and transient runs each
call the step's function their own way (in a worker with time limits, on the
virtual clock, awaited in the caller's loop), and all of them frame the call with
:class:`Attempt`: it sets the step context, and turns what the call gave into the
one typed outcome (:class:`~pyworkflow.wire.StepOutcome`). What a failure *means*
is decided here, where the exception is at hand: ``fatal`` is
``isinstance(exc, FatalError)`` (so an app's ``class CardDeclined(FatalError)`` is
never retried), ``retry_at_ms`` comes from a ``RetryableError(retry_after=...)``, and
the class travels as its import path, for display only.

    with Attempt(ctx, now_ms) as attempt:
        attempt.succeed(fn(*args, **kwargs))
    outcome = attempt.outcome
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog

from . import serialization
from .app_log import AppLogLine, capturing
from .errors import FatalError, RetryableError
from .step_context import StepContext, reset_step_context, set_step_context
from .wire.step import StepFailure, StepOutcome

__all__ = ["Attempt", "failure_of", "mark_fatal"]

#: Set on an exception by the code that raised it when its class alone cannot say
#: "never retry": a Celery task awaited as a step fails for good on an exception
#: outside its ``autoretry_for`` (see ``pyworkflow.adopt.task_call``), yet the run
#: should record the task's own exception class, not a wrapper's.
_FATAL_MARK = "__pyworkflow_fatal__"


def mark_fatal(exc: BaseException) -> BaseException:
    """Make ``exc`` a fatal failure (no retry), keeping its class; returns it."""
    setattr(exc, _FATAL_MARK, True)
    return exc


def failure_of(exc: BaseException, now_ms: int) -> StepFailure:
    """What a failed attempt reports: its meaning decided by the exception's class
    (or by :func:`mark_fatal`, where it was raised)."""
    cls = type(exc)
    retry_at = exc.retry_after_ms(now_ms) if isinstance(exc, RetryableError) else None
    fatal = isinstance(exc, FatalError) or getattr(exc, _FATAL_MARK, False) is True
    return StepFailure(error_type=cls.__name__, error=str(exc),
                       error_class=f"{cls.__module__}.{cls.__qualname__}",
                       traceback="".join(traceback.format_exception(exc)),
                       fatal=fatal, retry_at_ms=retry_at)


class Attempt:
    """The frame of one attempt: the step context while it runs, its outcome after.

    While it runs, log lines (structlog's and stdlib's, through ``merge_contextvars``)
    carry ``run_id``, ``workflow``, ``step`` and ``attempt``, bound here so the step's
    code passes nothing; and what it logs is captured into ``log_lines`` (on a worker,
    where the capture handler is installed: see ``pyworkflow.app_log``), which the
    runtime may keep as the run's app log.

    An ``Exception`` raised in the block becomes a failed outcome (and is kept in
    ``exc``); anything else (``KeyboardInterrupt``, a worker's ``SystemExit``) passes.
    ``encode_result`` is off for transient runs, whose values are not copied
    through JSON.
    """

    def __init__(self, ctx: StepContext, now_ms: Callable[[], int],
                 encode_result: bool = True) -> None:
        self.ctx = ctx
        self._now_ms = now_ms
        self._encode = encode_result
        self.exc: Exception | None = None
        self.log_lines: list[AppLogLine] = []
        self._frames = contextlib.ExitStack()
        self.outcome = StepOutcome.failed(
            ctx.call_id, ctx.attempt, StepFailure("RuntimeError", "the attempt never ran"))

    def __enter__(self) -> Attempt:
        self._token = set_step_context(self.ctx)
        ctx = self.ctx
        self._frames.enter_context(structlog.contextvars.bound_contextvars(
            run_id=ctx.run_id, workflow=ctx.workflow, step=ctx.step, attempt=ctx.attempt))
        self._frames.enter_context(capturing(self.log_lines))
        return self

    def succeed(self, value: Any) -> None:
        if self._encode:
            try:
                value = serialization.encode(value, path=f"{self.ctx.step} result")
            except serialization.PayloadError as exc:
                if exc.reason == "size":  # the same result again: never retried
                    raise mark_fatal(exc) from None
                raise
        self.outcome = StepOutcome.succeeded(self.ctx.call_id, self.ctx.attempt, value)

    def __exit__(self, etype: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        self._frames.close()
        reset_step_context(self._token)
        if not isinstance(exc, Exception):
            return False
        self.exc = exc
        self.outcome = StepOutcome.failed(self.ctx.call_id, self.ctx.attempt,
                                          failure_of(exc, self._now_ms()))
        return True
