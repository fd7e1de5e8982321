"""When a schedule fires: a cron expression in a timezone, or a fixed interval.

Cron expressions are parsed and evaluated by ``cronsim`` (the evaluator behind
Healthchecks.io), not by a parser of our own: it is small, typed, has no
dependencies and is tested against DST transitions. Chosen over ``croniter``,
whose maintenance changed hands in 2025 and whose DST handling has a longer list of
open issues. A firing time that a DST jump skips (02:30 on a spring-forward night)
fires at the first instant after the jump; a time that repeats (autumn) fires once,
at its first occurrence (``cronsim`` yields both passes, ``fold=0`` and ``fold=1``;
the second is dropped here).

Interval schedules fire at ``anchor + k * interval`` (k >= 0 counting ``start_at``,
k >= 1 counting the creation time), so a restart never shifts their phase.

Firings are computed lazily (:meth:`ScheduleSpec.firings`) or from the newest end
(:meth:`ScheduleSpec.newest`), so no question about a range walks more firings than
its answer holds, whatever the range: an interval's are arithmetic, a cron
expression's are walked forwards or backwards from the end that matters.

A spec also holds its firings' route (``queue``, ``priority``: see :attr:`ScheduleSpec.route`),
decided once when the schedule is made, by the decision ``start()`` makes
(``_start_plan.route_of``), and kept as a Temporal schedule's action keeps its task queue.

Everything is milliseconds since the epoch (UTC); the timezone only matters to cron.
A spec is checked whole at creation (:func:`ScheduleSpec.check`), so a bad cron
expression or timezone is refused with a clear error before anything is written,
and so is anything outside the limits of :mod:`.limits`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import zoneinfo
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from cronsim import CronSim, CronSimError

from ..durations import parse_duration
from ..routing import DEFAULT_PRIORITY, DEFAULT_QUEUE, Route, check_priority, check_queue
from . import limits
from .errors import InvalidScheduleError
from .limits import MIN_INTERVAL_S
from .overlap import OVERLAP_POLICIES

__all__ = ["MIN_INTERVAL_S", "ScheduleSpec", "check_instant", "check_schedule_id",
           "epoch_ms", "interval_seconds", "zone"]


@dataclass(frozen=True)
class ScheduleSpec:
    workflow: str
    args: list[Any]
    kwargs: dict[str, Any]
    cron: str | None = None
    interval_s: float | None = None
    timezone: str = "UTC"
    overlap: str = "skip"
    start_at_ms: int | None = None
    end_at_ms: int | None = None
    jitter_s: float | None = None
    #: Interval schedules: the instant their firings count from (set by the actor).
    anchor_ms: int | None = None
    #: Its runs' route, as ``start()`` decided it when the schedule was made (the
    #: start's ``queue=``/``priority=``, else the workflow's, else the default); None
    #: stands for the default, so a spec written before routes existed reads the same.
    queue: str | None = None
    priority: int | None = None

    # -- checking ---------------------------------------------------------------------
    def check(self) -> ScheduleSpec:
        """Raise :class:`InvalidScheduleError` naming what is wrong; return self."""
        if (self.cron is None) == (self.interval_s is None):
            raise InvalidScheduleError("a schedule needs exactly one of cron=... or interval=...")
        if not isinstance(self.timezone, str) or len(self.timezone) > limits.MAX_TIMEZONE_LENGTH:
            raise InvalidScheduleError(f"timezone: an IANA name of at most "
                                       f"{limits.MAX_TIMEZONE_LENGTH} characters")
        tz = zone(self.timezone)
        if self.cron is not None:
            self._check_cron(tz)
        if self.interval_s is not None:
            self._check_interval()
        if self.overlap not in OVERLAP_POLICIES:
            raise InvalidScheduleError(f"unknown overlap policy {self.overlap!r}; one of "
                                       + ", ".join(OVERLAP_POLICIES))
        for name in ("start_at", "end_at", "anchor"):
            check_instant(name, getattr(self, f"{name}_ms"))
        if (self.start_at_ms is not None and self.end_at_ms is not None
                and self.end_at_ms <= self.start_at_ms):
            raise InvalidScheduleError("end_at must be after start_at")
        try:
            _ = self.route  # checks both parts
        except ValueError as exc:
            raise InvalidScheduleError(str(exc)) from None
        jitter = self.jitter_s
        if jitter is not None and not (_number(jitter) and 0 <= jitter <= limits.MAX_JITTER_S):
            raise InvalidScheduleError(f"jitter must be from 0 to {limits.MAX_JITTER_S:g}s "
                                       f"(got {jitter!r})")
        return self

    def _check_cron(self, tz: zoneinfo.ZoneInfo) -> None:
        if not isinstance(self.cron, str) or len(self.cron) > limits.MAX_CRON_LENGTH:
            raise InvalidScheduleError(f"a cron expression is a string of at most "
                                       f"{limits.MAX_CRON_LENGTH} characters")
        try:
            CronSim(self.cron, dt.datetime.now(tz))
        except CronSimError as exc:
            raise InvalidScheduleError(f"bad cron expression {self.cron!r}: {exc}") from None

    def _check_interval(self) -> None:
        value = self.interval_s
        if not _number(value):
            raise InvalidScheduleError(f"interval must be a number of seconds, not {value!r}")
        assert value is not None
        if value < MIN_INTERVAL_S:
            raise InvalidScheduleError(f"interval {value}s is shorter than {MIN_INTERVAL_S:g}s")
        if value > limits.MAX_INTERVAL_S:
            raise InvalidScheduleError(f"interval {value:g}s is longer than the limit of "
                                       f"{limits.MAX_INTERVAL_S:g}s (100 years)")

    @property
    def route(self) -> Route:
        """Where its runs go: the run id of each firing carries it (``ids.scheduled_run_id``),
        so its turns and steps take that queue and priority, as a started run's do."""
        return Route(DEFAULT_QUEUE if self.queue is None else check_queue(self.queue),
                     DEFAULT_PRIORITY if self.priority is None else check_priority(self.priority))

    @staticmethod
    def route_fields(route: Route) -> dict[str, Any]:
        """``queue``/``priority`` as a spec holds ``route`` (None where it is the default)."""
        return {"queue": None if route.queue == DEFAULT_QUEUE else route.queue,
                "priority": None if route.priority == DEFAULT_PRIORITY else route.priority}

    # -- firing times -------------------------------------------------------------------
    def next_after(self, after_ms: int) -> int | None:
        """The first firing strictly after ``after_ms`` (None: the schedule has ended)."""
        return next(self.firings(after_ms + 1), None)

    def firings(self, from_ms: int, until_ms: int | None = None) -> Iterator[int]:
        """Firings at or after ``from_ms`` (up to ``until_ms`` and ``end_at``), oldest
        first, computed one at a time: the caller decides how many it takes."""
        if self.start_at_ms is not None:
            from_ms = max(from_ms, self.start_at_ms)
        last = self.end_at_ms if until_ms is None else (
            until_ms if self.end_at_ms is None else min(until_ms, self.end_at_ms))
        times = self._cron_times(from_ms - 1, reverse=False) if self.cron is not None \
            else self._interval_times(from_ms)
        for ms in times:
            if last is not None and ms > last:
                return
            yield ms

    def newest(self, after_ms: int, until_ms: int, limit: int) -> list[int]:
        """The newest ``limit`` firings in ``(after_ms, until_ms]``, oldest first; the work
        is bounded by ``limit``, not by the length of the range."""
        if limit <= 0:
            return []
        if self.interval_s is not None:
            first, step, k_first, k_last = self._interval_span(after_ms, until_ms)
            return [first + k * step for k in range(max(k_first, k_last - limit + 1), k_last + 1)]
        after_ms, until_ms = self._clipped(after_ms, until_ms)
        found: list[int] = []
        if until_ms > after_ms:
            for ms in self._cron_times(until_ms + 1, reverse=True):
                if ms <= after_ms or len(found) == limit:
                    break
                found.append(ms)
        return found[::-1]

    def count(self, from_ms: int, until_ms: int, cap: int) -> tuple[int, bool]:
        """How many firings ``[from_ms, until_ms]`` holds: (count, exact). An interval's
        count is exact (arithmetic); a cron expression's walk stops at ``cap + 1``."""
        if self.interval_s is not None:
            _, _, k_first, k_last = self._interval_span(from_ms - 1, until_ms)
            return max(0, k_last - k_first + 1), True
        found = sum(1 for _ in zip(range(cap + 1), self.firings(from_ms, until_ms),
                                   strict=False))
        return found, found <= cap

    def _clipped(self, after_ms: int, until_ms: int) -> tuple[int, int]:
        if self.start_at_ms is not None:
            after_ms = max(after_ms, self.start_at_ms - 1)
        if self.end_at_ms is not None:
            until_ms = min(until_ms, self.end_at_ms)
        return after_ms, until_ms

    def _interval_span(self, after_ms: int, until_ms: int) -> tuple[int, int, int, int]:
        """(first, step, k_first, k_last): the firings in ``(after_ms, until_ms]`` are
        ``first + k * step`` for k in ``[k_first, k_last]`` (none when k_last < k_first)."""
        after_ms, until_ms = self._clipped(after_ms, until_ms)
        first, step = self._interval_grid(after_ms)
        if until_ms < first or until_ms <= after_ms:
            return first, step, 0, -1
        k_first = 0 if after_ms < first else (after_ms - first) // step + 1
        return first, step, k_first, (until_ms - first) // step

    def _interval_grid(self, after_ms: int) -> tuple[int, int]:
        """(the first firing, the step): every firing is ``first + k * step``, k >= 0."""
        assert self.interval_s is not None
        step = max(1, round(self.interval_s * 1000))
        if self.start_at_ms is not None:
            return self.start_at_ms, step
        anchor = after_ms if self.anchor_ms is None else self.anchor_ms
        return anchor + step, step

    def _interval_times(self, from_ms: int) -> Iterator[int]:
        first, step = self._interval_grid(from_ms - 1)
        nxt = first if from_ms <= first else first + -(-(from_ms - first) // step) * step
        while True:
            yield nxt
            nxt += step

    def _cron_times(self, at_ms: int, reverse: bool) -> Iterator[int]:
        """Cron firings strictly after (or before) ``at_ms``, each wall-clock time once."""
        assert self.cron is not None
        tz = zone(self.timezone)
        for when in CronSim(self.cron, dt.datetime.fromtimestamp(at_ms / 1000, tz),
                            reverse=reverse):
            if when.fold and when.replace(fold=0).utcoffset() != when.utcoffset():
                continue  # the second pass of a repeated (autumn) wall-clock time
            yield int(when.timestamp() * 1000)

    def jitter_ms(self, schedule_id: str, fire_ms: int) -> int:
        """A delay in ``[0, jitter]`` derived from the firing, so a replay agrees with it."""
        if not self.jitter_s:
            return 0
        digest = hashlib.sha256(f"{schedule_id}:{fire_ms}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % (int(self.jitter_s * 1000) + 1)

    # -- wire -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleSpec:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def updated(self, **changes: Any) -> ScheduleSpec:
        return replace(self, **changes)

    def digest(self) -> str:
        """Identifies the spec a declaration asked for (the anchor is the actor's). A
        default route is left out, so specs declared before routes existed keep their
        digest (and are not declared again, as changed, by every worker's restart)."""
        body = {k: v for k, v in self.to_dict().items()
                if k != "anchor_ms" and not (k in ("queue", "priority") and v is None)}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron!r} ({self.timezone})"
        if _number(self.interval_s):
            return f"every {self.interval_s:g}s"
        return "?"


def _number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidScheduleError(f"unknown timezone {name!r} (use an IANA name such as "
                                   "'UTC' or 'Europe/Paris')") from None


def check_instant(name: str, ms: Any) -> None:
    """Refuse an instant outside the years schedules support (see :mod:`.limits`)."""
    if ms is None:
        return
    if not isinstance(ms, int) or isinstance(ms, bool) or not (
            limits.EARLIEST_MS <= ms <= limits.LATEST_MS):
        raise InvalidScheduleError(f"{name} must be from 1970-01-01 to 2200-01-01 (UTC), "
                                   f"got {_shown(ms)}")


def _shown(ms: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return repr(ms)


def check_schedule_id(sid: str) -> str:
    """Refuse an id that is too long or uses characters keys and the CLI would trip on."""
    if len(sid) > limits.MAX_SCHEDULE_ID_LENGTH or not set(sid) <= limits.SCHEDULE_ID_CHARS:
        raise InvalidScheduleError(
            f"schedule id {sid[:80]!r}: use letters, digits and -_.: only (at most "
            f"{limits.MAX_SCHEDULE_ID_LENGTH} characters)")
    return sid


def interval_seconds(value: Any) -> float:
    """``5m``, ``90``, ``timedelta(...)`` -> seconds; refused as InvalidScheduleError."""
    try:
        return parse_duration(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidScheduleError(f"bad interval: {exc}") from None


def epoch_ms(value: Any) -> int | None:
    """A datetime (naive means UTC), an ISO string or epoch seconds -> ms; None stays None.
    Out-of-range values are refused by :func:`check_instant`, not here."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidScheduleError(f"not a date-time: {value!r}")
        return int(value * 1000)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidScheduleError(f"not an ISO date-time: {value!r}") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1000)
    raise InvalidScheduleError(f"not a date-time: {value!r}")
