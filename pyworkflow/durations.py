"""Durations for ``sleep()``, retry delays and hook timeouts.

One parser for every place a user writes "how long", so ``"1h30m"`` means the
same thing to ``sleep``, ``retry_after`` and the CLI. Arithmetic is done in
``Decimal`` from the text the user wrote (``str(0.3)`` is ``"0.3"``), because
binary floats would turn 0.3 s into 300.00000000000006 ms and round a deadline
up by a whole millisecond. Deadlines round *up*: a timer may fire a little late,
never early, since a workflow that slept "30s" may rely on 30 s having passed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

__all__ = ["ACCEPTED_FORMS", "MAX_DURATION_S", "DurationLike", "deadline_ms", "format_duration",
           "parse_duration"]

DurationLike = int | float | Decimal | dt.timedelta | str
"""Anything :func:`parse_duration` accepts."""

#: The longest duration, in seconds: 100 years (of 365.25 days), as a schedule's longest
#: interval (``schedules.limits.MAX_INTERVAL_S``). Every duration a user writes is held
#: to it here, the one parser (``sleep``, signal and hook timeouts, retry delays, step
#: timeouts, ``max_duration``, retention, ``runs purge --older-than``): a longer one is a
#: mistake (a unit slip, a timestamp given as a duration), and past it the numbers stop
#: being safe (``sleep(10**400)`` was a float infinity of seconds).
MAX_DURATION_S = 36525 * 86400

ACCEPTED_FORMS = (
    "accepted forms: seconds as a number >= 0 (30, 1.5), a datetime.timedelta, or a string "
    "such as '90' (seconds), '500ms', '30s', '5m', '1.5h', '2d', '1w', '1h30m' or '1h 30m'"
)

_UNIT_SECONDS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60),
                 "h": Decimal(3600), "d": Decimal(86400), "w": Decimal(604800)}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
# ASCII only: "\d" would otherwise admit other scripts' digits. "ms" is tried before "m".
_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|s|m|h|d|w)", re.ASCII)
_COMPOUND = re.compile(rf"(?:\s*{_NUMBER}\s*(?:ms|s|m|h|d|w))+\s*", re.ASCII)
_BARE = re.compile(rf"\s*{_NUMBER}\s*", re.ASCII)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US_PER_MS = 1000


def _bad(value: object, why: str = "is not a valid duration") -> ValueError:
    try:
        shown = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        shown = "a number"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValueError(f"{shown} {why}; {ACCEPTED_FORMS}")


def _exact_seconds(value: object) -> Decimal:
    """Parse ``value`` into exact seconds (``Decimal``), validating it."""
    if isinstance(value, bool):  # a bool is an int, but ``sleep(True)`` is a bug
        raise TypeError(f"{value!r} is not a duration; {ACCEPTED_FORMS}")
    if isinstance(value, dt.datetime):
        raise TypeError(f"{value!r} is a point in time, not a duration; "
                        "use deadline_ms() for datetimes")
    if isinstance(value, dt.timedelta):
        seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / 10**6
    elif isinstance(value, int | float | Decimal):
        # An int is finite, and may be too large for math.isfinite (an OverflowError).
        finite = (value.is_finite() if isinstance(value, Decimal)
                  else isinstance(value, int) or math.isfinite(value))
        if not finite:
            raise _bad(value, "is not a finite number of seconds")
        seconds = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise TypeError(f"{type(value).__name__} {value!r} is not a duration; {ACCEPTED_FORMS}")
    if seconds < 0:
        raise _bad(value, "is negative; a duration must be >= 0")
    if seconds > MAX_DURATION_S:
        raise _bad(value, f"is longer than the longest duration, 100 years "
                          f"({MAX_DURATION_S} s)")
    return seconds


def _parse_text(text: str) -> Decimal:
    lowered = text.lower()
    if lowered.strip().startswith("-"):
        raise _bad(text, "is negative; a duration must be >= 0")
    try:
        if _BARE.fullmatch(lowered):
            return Decimal(lowered.strip())
        if _COMPOUND.fullmatch(lowered):
            return sum((Decimal(number) * _UNIT_SECONDS[unit]
                        for number, unit in _PART.findall(lowered)), Decimal(0))
    except InvalidOperation:  # pragma: no cover - the regexes only admit valid numbers
        pass
    raise _bad(text)


def parse_duration(value: DurationLike) -> float:
    """Return ``value`` as seconds.

    Accepts seconds as a number >= 0, a ``timedelta``, or a string like ``"90"``,
    ``"500ms"``, ``"30s"``, ``"5m"``, ``"1.5h"``, ``"2d"``, ``"1w"``, ``"1h30m"``,
    ``"1h 30m"`` (case-insensitive, surrounding whitespace ignored). Negative,
    malformed or longer than :data:`MAX_DURATION_S` (100 years) values raise
    ``ValueError`` listing the accepted forms; a value of
    the wrong type (including a ``datetime`` or a ``bool``) raises ``TypeError``.
    """
    return float(_exact_seconds(value))


def _ceil_ms(seconds: Decimal) -> int:
    return int((seconds * 1000).to_integral_value(rounding=ROUND_CEILING))


def deadline_ms(value: DurationLike | dt.datetime, now_ms: int) -> int:
    """Absolute due time in epoch milliseconds, rounded up so it is never early.

    A duration is added to ``now_ms``. A ``datetime`` is an absolute point: an
    aware one is used as is, a naive one is taken as UTC (workers in different
    zones must agree, and the server clock's zone is not part of the run); one
    in the past gives ``now_ms`` (due immediately).
    """
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        delta = aware - _EPOCH
        micros = (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds
        return max(now_ms, -(-micros // _US_PER_MS))
    return now_ms + _ceil_ms(_exact_seconds(value))


def format_duration(seconds: float | dt.timedelta | None) -> str:
    """Short human form for CLI output: ``"250ms"``, ``"45s"``, ``"2.5s"``, ``"1h30m"``.

    Under a second shows milliseconds, under ten seconds keeps one decimal, from
    a minute on shows whole seconds split into d/h/m/s with zero parts left out.
    The output is itself accepted by :func:`parse_duration`; the one form every
    command and message prints. No duration (``None``) is ``"-"``, as in a table.
    """
    if seconds is None:
        return "-"
    if isinstance(seconds, dt.timedelta):
        seconds = seconds.total_seconds()
    if math.isnan(seconds):
        return "?"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if math.isinf(seconds):
        return "forever"
    if seconds == 0:
        return "0s"
    # Thresholds sit where rounding would carry into the next form ("1000ms", "60s").
    if seconds < 0.9995:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 9.95:
        return f"{round(seconds, 1):g}s"
    if seconds < 59.5:
        return f"{round(seconds)}s"
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
