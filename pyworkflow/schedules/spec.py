"""When a schedule fires: a cron expression in a timezone, or a fixed interval.

Cron expressions are parsed and evaluated by ``cronsim`` (the evaluator behind
Healthchecks.io), not by a parser of our own: it is small, typed, has no
dependencies and is tested against DST transitions. Chosen over ``croniter``,
whose maintenance changed hands in 2025 and whose DST handling has a longer list of
open issues. A firing time that a DST jump skips (02:30 on a spring-forward night)
fires at the first instant after the jump; a time that repeats (autumn) fires once.

Interval schedules fire at ``anchor + k * interval`` (k >= 0 counting ``start_at``,
k >= 1 counting the creation time), so a restart never shifts their phase.

Everything is milliseconds since the epoch (UTC); the timezone only matters to cron.
A spec is checked whole at creation (:func:`ScheduleSpec.check`), so a bad cron
expression or timezone is refused with a clear error before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from dataclasses import asdict, dataclass, replace
from typing import Any

from cronsim import CronSim, CronSimError

from ..durations import parse_duration
from .errors import InvalidScheduleError
from .overlap import OVERLAP_POLICIES

#: The shortest interval a schedule accepts: a firing is a run, not a busy loop.
MIN_INTERVAL_S = 1.0


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

    # -- checking ---------------------------------------------------------------------
    def check(self) -> ScheduleSpec:
        """Raise :class:`InvalidScheduleError` naming what is wrong; return self."""
        if (self.cron is None) == (self.interval_s is None):
            raise InvalidScheduleError("a schedule needs exactly one of cron=... or interval=...")
        tz = zone(self.timezone)
        if self.cron is not None:
            try:
                CronSim(self.cron, dt.datetime.now(tz))
            except CronSimError as exc:
                raise InvalidScheduleError(f"bad cron expression {self.cron!r}: {exc}") from None
        if self.interval_s is not None and self.interval_s < MIN_INTERVAL_S:
            raise InvalidScheduleError(f"interval {self.interval_s}s is shorter than "
                                       f"{MIN_INTERVAL_S:g}s")
        if self.overlap not in OVERLAP_POLICIES:
            raise InvalidScheduleError(f"unknown overlap policy {self.overlap!r}; one of "
                                       + ", ".join(OVERLAP_POLICIES))
        if (self.start_at_ms is not None and self.end_at_ms is not None
                and self.end_at_ms <= self.start_at_ms):
            raise InvalidScheduleError("end_at must be after start_at")
        if self.jitter_s is not None and self.jitter_s < 0:
            raise InvalidScheduleError("jitter must be >= 0")
        return self

    # -- firing times -------------------------------------------------------------------
    def next_after(self, after_ms: int) -> int | None:
        """The first firing strictly after ``after_ms`` (None: the schedule has ended)."""
        if self.start_at_ms is not None:
            after_ms = max(after_ms, self.start_at_ms - 1)
        if self.cron is not None:
            at = dt.datetime.fromtimestamp(after_ms / 1000, zone(self.timezone))
            nxt = int(next(CronSim(self.cron, at)).timestamp() * 1000)
        else:
            nxt = self._next_interval(after_ms)
        if self.end_at_ms is not None and nxt > self.end_at_ms:
            return None
        return nxt

    def _next_interval(self, after_ms: int) -> int:
        assert self.interval_s is not None
        step = max(1, round(self.interval_s * 1000))
        anchor = self.start_at_ms if self.start_at_ms is not None else self.anchor_ms
        if anchor is None:
            anchor = after_ms
        if after_ms < anchor:
            return anchor
        return anchor + ((after_ms - anchor) // step + 1) * step

    def fire_times(self, from_ms: int, until_ms: int, limit: int) -> list[int]:
        """Firings in ``[from_ms, until_ms]``, oldest first, at most ``limit`` (the newest
        are kept when there are more)."""
        found: list[int] = []
        nxt = self.next_after(from_ms - 1)
        while nxt is not None and nxt <= until_ms:
            found.append(nxt)
            if len(found) > limit:
                found.pop(0)
            nxt = self.next_after(nxt)
        return found

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
        """Identifies the spec a declaration asked for (the anchor is the actor's)."""
        body = {k: v for k, v in self.to_dict().items() if k != "anchor_ms"}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron!r} ({self.timezone})"
        return f"every {self.interval_s:g}s"


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidScheduleError(f"unknown timezone {name!r} (use an IANA name such as "
                                   "'UTC' or 'Europe/Paris')") from None


def interval_seconds(value: Any) -> float:
    """``5m``, ``90``, ``timedelta(...)`` -> seconds; refused as InvalidScheduleError."""
    try:
        return parse_duration(value)
    except (TypeError, ValueError) as exc:
        raise InvalidScheduleError(f"bad interval: {exc}") from None


def epoch_ms(value: Any) -> int | None:
    """A datetime (naive means UTC), an ISO string or epoch seconds -> ms; None stays None."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
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
