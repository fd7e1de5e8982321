"""Retry policy: whether a failed step attempt gets another, and when.

:func:`next_attempt_ms` is the one place that decides it, for every runtime (the
engine, for Celery workers, local runs and the test environment; transient runs).
A failure marked ``fatal`` (the step raised a ``FatalError`` or a subclass: decided
by ``isinstance`` where it was raised) never gets another attempt.

``retry_delay`` on ``@step``: ``"exponential"`` (1 s, 2 s, 4 s, … capped at 5 min),
a number of seconds or a duration string (fixed), or a list giving the delay
before each retry (the last one repeats). A ``RetryableError(retry_after=...)``
overrides the policy for that attempt.
"""

from __future__ import annotations

import math
from typing import Any

from .durations import parse_duration
from .wire.step import StepFailure

EXPONENTIAL_BASE_S = 1.0
EXPONENTIAL_CAP_S = 300.0


def validate_retry_delay(spec: Any) -> Any:
    """Refuse a bad policy at decoration time, not at the first failure."""
    if spec == "exponential":
        return spec
    if isinstance(spec, list | tuple):
        if not spec:
            raise ValueError("retry_delay list must not be empty")
        for item in spec:
            parse_duration(item)
        return list(spec)
    parse_duration(spec)
    return spec


def retry_delay_ms(spec: Any, attempt: int) -> int:
    """Delay in ms before attempt ``attempt + 1`` after attempt ``attempt`` failed."""
    if spec == "exponential":
        seconds = min(EXPONENTIAL_CAP_S, EXPONENTIAL_BASE_S * 2 ** (attempt - 1))
    elif isinstance(spec, list):
        seconds = parse_duration(spec[min(attempt - 1, len(spec) - 1)])
    else:
        seconds = parse_duration(spec)
    return int(math.ceil(seconds * 1000))


def next_attempt_ms(failure: StepFailure, attempt: int, max_attempts: int, retry_delay: Any,
                    now_ms: int) -> int | None:
    """When attempt ``attempt + 1`` is due (epoch ms) after ``failure``, or None when
    there is none: the failure is fatal, or that was the last attempt allowed. A
    ``RetryableError(retry_after=...)`` sets the time itself (never in the past)."""
    if failure.fatal or attempt >= max_attempts:
        return None
    if failure.retry_at_ms is not None:
        return max(now_ms, failure.retry_at_ms)
    return now_ms + retry_delay_ms(retry_delay, attempt)
