"""Retry policy: whether a failed step attempt gets another, and when.

:func:`next_attempt_ms` is the one place that decides it, for every runtime (the
engine, for Celery workers, local runs and the test environment; transient runs).
A failure marked ``fatal`` (the step raised a ``FatalError`` or a subclass: decided
by ``isinstance`` where it was raised) never gets another attempt.

``retry_delay`` on ``@step``: ``"exponential"`` (1 s, 2 s, 4 s, … capped at 5 min),
a number of seconds or a duration string (fixed), or a list giving the delay
before each retry (the last one repeats). A ``RetryableError(retry_after=...)``
overrides the policy for that attempt.

A Celery task awaited as a step (``step.from_task``, :mod:`pyworkflow.adopt`) brings
Celery's own curve as a mapping, ``{"backoff": factor, "max": seconds, "jitter": bool}``:
``min(max, factor * 2 ** (attempt - 1))`` seconds, and with ``jitter`` a whole number
of seconds drawn from 0 to that (Celery's full jitter). The draw is seeded with the
failure's time and attempt, so it is a pure function of what the journal holds.
"""

from __future__ import annotations

import math
import random
from typing import Any

from .durations import parse_duration
from .wire.step import StepFailure

EXPONENTIAL_BASE_S = 1.0
EXPONENTIAL_CAP_S = 300.0


def validate_retry_delay(spec: Any) -> Any:
    """Refuse a bad policy at decoration time, not at the first failure."""
    if spec == "exponential":
        return spec
    if isinstance(spec, dict):
        return _validate_backoff(spec)
    if isinstance(spec, list | tuple):
        if not spec:
            raise ValueError("retry_delay list must not be empty")
        for item in spec:
            parse_duration(item)
        return list(spec)
    parse_duration(spec)
    return spec


def _validate_backoff(spec: dict[str, Any]) -> dict[str, Any]:
    """Celery's backoff as a mapping: a factor >= 0, a cap >= 0, jitter on or off."""
    unknown = set(spec) - {"backoff", "max", "jitter"}
    factor, cap = spec.get("backoff"), spec.get("max", 600)
    if unknown or not _seconds(factor) or not _seconds(cap) \
            or not isinstance(spec.get("jitter", False), bool):
        raise ValueError(f"retry_delay mapping must be {{'backoff': seconds >= 0, 'max': "
                         f"seconds >= 0, 'jitter': bool}}, not {spec!r}")
    return {"backoff": factor, "max": cap, "jitter": bool(spec.get("jitter", False))}


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _backoff_s(spec: dict[str, Any], attempt: int, seed: int) -> float:
    """Celery's ``get_exponential_backoff_interval``, with a seeded draw for the jitter."""
    countdown = int(min(spec["max"], spec["backoff"] * 2 ** (attempt - 1)))
    if spec.get("jitter"):
        countdown = random.Random(seed * 1009 + attempt).randrange(countdown + 1)
    return max(0, countdown)


def retry_delay_ms(spec: Any, attempt: int, seed: int = 0) -> int:
    """Delay in ms before attempt ``attempt + 1`` after attempt ``attempt`` failed
    (``seed``: only a jittered backoff uses it)."""
    if spec == "exponential":
        seconds = min(EXPONENTIAL_CAP_S, EXPONENTIAL_BASE_S * 2 ** (attempt - 1))
    elif isinstance(spec, dict):
        seconds = _backoff_s(spec, attempt, seed)
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
    return now_ms + retry_delay_ms(retry_delay, attempt, seed=now_ms)
