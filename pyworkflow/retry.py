"""Retry policy: how long a failed step attempt waits before the next one.

``retry_delay`` on ``@step``: ``"exponential"`` (1 s, 2 s, 4 s, … capped at 5 min),
a number of seconds or a duration string (fixed), or a list giving the delay
before each retry (the last one repeats). A ``RetryableError(retry_after=...)``
overrides the policy for that attempt.
"""

from __future__ import annotations

import math
from typing import Any

from .durations import parse_duration

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
