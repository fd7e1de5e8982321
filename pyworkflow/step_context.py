"""What a running step attempt knows about itself.

``idempotency_key`` is the same for every attempt of one step call in one run, so
a step can pass it to an external API (a payment provider) and a retried or
re-delivered attempt is recognised there as the same request.

Cancellation reaches a running step only if the step asks: the engine never
interrupts a step (it may be half-way through a payment), but a cancel projects
``cancel_requested`` onto the run's record in the same commit as its event, and a
long step calls ``get_step_context().check_cancellation()`` between units of work.
That reads the record at most every :data:`CANCEL_CHECK_EVERY_S` seconds (a cached
answer in between), so a step may call it in a tight loop; it raises
``CancellationError``, which the run records as the step's failure, never retried
once the run is being cancelled, and the workflow unwinds as from any checkpoint.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import CancellationError

#: How stale ``cancel_requested`` may be: a step checking in a loop costs one Redis read
#: per this many seconds, and stops within about this long of ``runs cancel``.
CANCEL_CHECK_EVERY_S = 0.5


class CancelWatch:
    """Whether the run has been asked to cancel, read through ``probe`` (the worker's
    read of the run record) and cached for :data:`CANCEL_CHECK_EVERY_S`. Once seen it
    stays seen: a cancel is never withdrawn."""

    def __init__(self, probe: Callable[[], bool] | None) -> None:
        self._probe = probe
        self._lock = threading.Lock()
        self._seen = False
        self._checked_at: float | None = None

    def requested(self) -> bool:
        if self._seen or self._probe is None:
            return self._seen
        with self._lock:
            now = time.monotonic()
            if self._checked_at is None or now - self._checked_at >= CANCEL_CHECK_EVERY_S:
                self._checked_at = now
                self._seen = bool(self._probe())
        return self._seen


@dataclass(frozen=True)
class StepContext:
    run_id: str
    call_id: int
    step: str
    attempt: int
    cancel_watch: CancelWatch = field(default_factory=lambda: CancelWatch(None),
                                      repr=False, compare=False)
    #: The run's workflow (for log lines; None from a run scheduled before it was sent).
    workflow: str | None = field(default=None, compare=False)

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.call_id}"

    @property
    def cancel_requested(self) -> bool:
        """True once the run has been asked to cancel (or has timed out); at most
        :data:`CANCEL_CHECK_EVERY_S` seconds stale."""
        return self.cancel_watch.requested()

    def check_cancellation(self) -> None:
        """Raise ``CancellationError`` if the run has been asked to cancel: call it
        between units of a long step's work, where stopping is safe."""
        if self.cancel_requested:
            raise CancellationError(f"step {self.step!r} stopped: its run was cancelled")


_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "pyworkflow_step_context", default=None)


def get_step_context() -> StepContext:
    """The context of the step attempt running in this task; an error elsewhere."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("get_step_context() is only available inside a running step")
    return ctx


def set_step_context(ctx: StepContext | None) -> contextvars.Token[StepContext | None]:
    return _current.set(ctx)


def reset_step_context(token: contextvars.Token[StepContext | None]) -> None:
    _current.reset(token)
