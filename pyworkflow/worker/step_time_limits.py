# Celery ships no type information: its Request is Any to mypy, and subclassing it
# is what this module is for.
# mypy: allow-subclassing-any
"""Step time limits: an attempt past its ``timeout`` is stopped, not abandoned.

What is guaranteed depends on the kind of step and the worker's pool:

* ``async def`` step, any pool: its coroutine is cancelled at ``timeout``
  (``asyncio.wait_for``). If it ignores the cancellation, the prefork limits
  below still apply, ``grace`` and ``2 * grace`` later.
* sync step, prefork pool (the default): Celery's soft time limit raises
  ``SoftTimeLimitExceeded`` in the step's body at ``timeout``; a body that
  swallows it is killed with its process at the hard limit, ``grace`` later
  (Celery replaces the process). The worker's main process then reports the
  timeout, since the attempt can no longer report anything itself.
* sync step, solo or threads pool: Python cannot stop a thread safely, so the
  body runs to its end; the attempt is then reported as a timeout and its
  result discarded. The retry starts only after it ended, so attempts never
  overlap, but a step stuck forever stays stuck: use prefork for such steps.

In every case an attempt that ran past its timeout is reported once, as
``StepTimeoutError`` (retried per the step's policy), under the same message id
its result would have had, and its result is never recorded.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import signals
from celery.exceptions import SoftTimeLimitExceeded
from celery.worker.request import Request

from ..registry import get_step
from ..wire import StepAttempt, WireError, decode

__all__ = ["StepRequest", "grace_s", "limits_for", "soft_limit_armed"]


def grace_s(timeout: float) -> float:
    """Time between the soft limit (cleanup may run) and the hard one (the kill)."""
    return max(1.0, min(0.1 * timeout, 10.0))


def limits_for(timeout: float | None, is_async: bool) -> tuple[float | None, float | None]:
    """Celery's ``(hard, soft)`` limits for one attempt. An async step is cancelled at
    ``timeout`` by its event loop, so its soft limit is only a back-up."""
    if timeout is None:
        return None, None
    grace = grace_s(timeout)
    soft = timeout + grace if is_async else timeout
    return soft + grace, soft


class StepRequest(Request):
    """Celery's request for a step task, reading its time limits from the attempt.

    The limits travel in the task's own ``timeout`` argument (a dispatch needs no
    Celery-specific options) and are applied by the prefork pool.
    :meth:`hard_limit_reached` (given by ``step_task.install``) reports an attempt
    killed at its hard limit.
    """

    _message_limits: tuple[float | None, float | None] = (None, None)

    @property
    def time_limits(self) -> tuple[float | None, float | None]:
        if any(self._message_limits):
            return self._message_limits
        try:
            task = decode(StepAttempt, self.kwargs or {})
        except WireError:
            return (None, None)  # the task itself dead-letters it, at once
        step = get_step(task.step)
        is_async = step is not None and _is_async(step.fn)
        return limits_for(task.timeout, is_async)

    @time_limits.setter
    def time_limits(self, value: tuple[float | None, float | None]) -> None:
        self._message_limits = tuple(value)  # type: ignore[assignment]

    def on_timeout(self, soft: bool, timeout: float) -> None:
        super().on_timeout(soft, timeout)
        if not soft:
            self.hard_limit_reached(self.kwargs or {}, timeout)

    def hard_limit_reached(self, kwargs: dict[str, Any], limit: float) -> None:
        """Called in the worker's main process once the attempt's process was killed."""


def _is_async(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)


# -- the soft limit inside a prefork child -----------------------------------------
# Celery's soft limit is a signal (SIGUSR1) sent by the pool to the child. Its own
# handler raises wherever the child happens to be, which could be while the attempt
# reports its outcome. Ours raises only while a step body runs; a soft limit that
# lands after the body returned is ignored (the hard limit still stands).

_in_pool_child = False
_armed = False


def _on_soft_limit(signum: int, frame: Any) -> None:
    global _armed
    if _armed:
        _armed = False
        raise SoftTimeLimitExceeded()


def _child_started(**_: Any) -> None:
    """Sent in prefork children only: the one pool where time limits are enforced."""
    global _in_pool_child
    _in_pool_child = True


signals.worker_process_init.connect(_child_started, weak=False)


@contextmanager
def soft_limit_armed() -> Iterator[None]:
    """Let a soft time limit interrupt the code in this block (prefork children only)."""
    global _armed
    if not _in_pool_child or threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGUSR1) is not _on_soft_limit:
        signal.signal(signal.SIGUSR1, _on_soft_limit)
    _armed = True
    try:
        yield
    finally:
        _armed = False
