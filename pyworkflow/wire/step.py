"""What travels for a step: the attempt a worker is asked to run, and its outcome.

A failure carries its meaning, decided where the exception was raised
(:mod:`pyworkflow.step_attempt`): ``fatal`` (``isinstance(exc, FatalError)``), the
class's import path for display (``error_class``) and its short name (``error_type``),
never a class to be imported on the other side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Failures the previous release reported without the ``fatal`` flag were fatal
#: exactly when the class was ``FatalError`` itself (it compared names).
_LEGACY_FATAL_TYPES = frozenset({"FatalError"})


@dataclass(frozen=True, slots=True)
class StepAttempt:
    """The kwargs of a step task (``ids.STEP_TASK``): one attempt of one step call."""

    run_id: str
    call_id: int
    step: str
    attempt: int
    args: Any = None
    kwargs: Any = None
    timeout: float | None = None
    trace: dict[str, str] | None = None
    #: The run's workflow, so the attempt's log lines name it (absent from older senders).
    workflow: str | None = None


@dataclass(frozen=True, slots=True)
class StepFailure:
    """Why an attempt failed, as the run records it."""

    error_type: str
    error: str
    error_class: str | None = None
    traceback: str | None = None
    fatal: bool = False
    retry_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """A ``step-completed`` / ``step-failed`` message: one attempt's one outcome."""

    call_id: int
    attempt: int
    ok: bool
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    error_class: str | None = None
    traceback: str | None = None
    fatal: bool | None = None
    retry_at_ms: int | None = None
    worker_lost: bool | None = None

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> dict[str, Any]:
        if raw.get("ok") is False and "fatal" not in raw:
            return {**raw, "fatal": raw.get("error_type") in _LEGACY_FATAL_TYPES}
        return raw

    @property
    def kind(self) -> str:
        return "step-completed" if self.ok else "step-failed"

    @classmethod
    def succeeded(cls, call_id: int, attempt: int, result: Any) -> StepOutcome:
        return cls(call_id, attempt, True, result=result)

    @classmethod
    def failed(cls, call_id: int, attempt: int, failure: StepFailure,
               worker_lost: bool = False) -> StepOutcome:
        return cls(call_id, attempt, False, error_type=failure.error_type,
                   error=failure.error, error_class=failure.error_class,
                   traceback=failure.traceback, fatal=failure.fatal,
                   retry_at_ms=failure.retry_at_ms, worker_lost=worker_lost or None)

    @property
    def failure(self) -> StepFailure:
        """The failure this outcome reports (only for ``ok=False``)."""
        return StepFailure(self.error_type or "Exception", self.error or "",
                           self.error_class, self.traceback, bool(self.fatal),
                           self.retry_at_ms)


@dataclass(frozen=True, slots=True)
class StepUndelivered:
    """A dispatched attempt never reached a worker: the run sends it again."""

    call_id: int
    attempt: int
