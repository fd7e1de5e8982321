"""A step's ``timeout``, decided once for every runtime.

A step's ``timeout`` is wall time, in seconds, per attempt. What happens past it is the
same on a worker, in a local run, in the test environment and in a transient run:

* an ``async`` body is cancelled at the timeout (``asyncio.wait_for``) and the attempt
  fails with :class:`StepTimeoutError`, which is retried per the step's policy;
* a sync body cannot be stopped in its own thread: one that runs past its timeout has
  its result discarded and fails the same way (on a prefork worker, Celery's soft time
  limit also stops it, which ``worker/step_time_limits`` arms and hands in here as
  ``stopped``);
* a ``TimeoutError`` the body raised before the timeout is the body's own error.

Two ways to call a body, because two kinds of caller exist: :func:`run_body` from a
thread with no running event loop (a worker's step task, a local run's and the test
environment's step runner) and :func:`await_body` from inside one (a transient run,
which is a plain ``await`` in the caller's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .errors import StepTimeoutError

__all__ = ["await_body", "run_body", "timed_out"]


def timed_out(step: str, timeout: float | None, how: str) -> StepTimeoutError:
    """The error of an attempt that ran past its timeout; ``how`` says what became of it."""
    return StepTimeoutError(f"step {step!r} ran longer than its timeout of {timeout}s ({how})")


def _past(started: float, timeout: float | None) -> bool:
    return timeout is not None and time.monotonic() - started >= timeout


def _kept(result: Any, started: float, timeout: float | None, step: str) -> Any:
    """The body's result, unless it came after the timeout (then it is discarded)."""
    if _past(started, timeout):
        raise timed_out(step, timeout, "ran to its end; its result is discarded")
    return result


def run_body(fn: Callable[..., Any], args: list[Any] | tuple[Any, ...], kwargs: dict[str, Any],
             timeout: float | None, step: str,
             guard: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
             stopped: tuple[type[BaseException], ...] = ()) -> Any:
    """Call the body in this thread, which runs no event loop (an ``async`` body gets
    one of its own). ``guard`` is entered around the call and ``stopped`` are the
    exceptions by which it stops a body at the timeout (a worker's soft time limit)."""
    started = time.monotonic()
    try:
        with guard():
            if inspect.iscoroutinefunction(fn):
                coro = fn(*args, **kwargs)
                result = asyncio.run(coro if timeout is None else asyncio.wait_for(coro, timeout))
            else:
                result = fn(*args, **kwargs)
    except stopped:
        raise timed_out(step, timeout, "stopped at its soft time limit") from None
    except TimeoutError:
        if not _past(started, timeout):
            raise  # the step's own TimeoutError, not ours
        raise timed_out(step, timeout, "cancelled") from None
    return _kept(result, started, timeout, step)


async def await_body(fn: Callable[..., Any], args: list[Any] | tuple[Any, ...],
                     kwargs: dict[str, Any], timeout: float | None, step: str) -> Any:
    """Call the body from inside a running event loop (a transient run): an awaitable
    it returns is awaited under the timeout."""
    started = time.monotonic()
    try:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await (result if timeout is None else asyncio.wait_for(result, timeout))
    except TimeoutError:
        if not _past(started, timeout):
            raise
        raise timed_out(step, timeout, "cancelled") from None
    return _kept(result, started, timeout, step)
