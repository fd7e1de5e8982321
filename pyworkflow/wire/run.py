"""The messages that start, stop, retry and wake a run, and its timers' messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StartRun:
    """``start``: the run's workflow and arguments (JSON-encoded), and how it began."""

    workflow: str
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    depth: int | None = None
    deadline_ms: int | None = None
    trace: dict[str, str] | None = None
    trace_link: dict[str, str] | None = None
    schedule_id: str | None = None
    fire_time: Any = None
    continued_from: str | None = None


@dataclass(frozen=True, slots=True)
class CancelRun:
    """``cancel``: an app, an operator, a parent or the run's own deadline asks it to stop."""

    reason: str | None = None
    force: bool = True
    timed_out: bool | None = None


@dataclass(frozen=True, slots=True)
class RetryRun:
    """``retry``: an operator resumes a parked or failed run."""


@dataclass(frozen=True, slots=True)
class Wake:
    """``wake``: a turn with nothing new, so the run's code advances (after recovery)."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    """``timer-fired``: a durable timer of the run came due; ``purpose`` says whose."""

    purpose: str
    call_id: int | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class ChildEnded:
    """``child-completed``: a child run ended (any status), sent to its parent."""

    call_id: int
    child_run_id: str
    status: str
    result: Any = None
    error: dict[str, Any] | None = None
