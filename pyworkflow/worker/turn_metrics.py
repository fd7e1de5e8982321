"""Run counters, turn latency and timer lateness, counted in Redis by the workers.

Written by an :class:`actors.instruments.Instrument` the runtime calls after each
committed batch and after each maintenance pass that fired timers, so the numbers
are kept where the work happens, in whichever process (prefork child, thread,
machine) it happens, and added up by Redis (``HINCRBY`` on one hash), as the step
counters are (:mod:`pyworkflow.worker.step_metrics` says why not prometheus_client's
multiprocess mode). Counters here only ever go up: retention purging runs does not
touch them, unlike the runs gauge counted from the runs' records.

What is counted:

* ``runs_started_total{workflow}``: a ``workflow_started`` event was committed;
* ``runs_finished_total{workflow,status}``: a terminal event was committed
  (``completed``, ``failed``, ``cancelled``, ``continued_as_new``; a run retried after
  its end counts again when it ends again); ``runs_parked_total{workflow}`` likewise;
* ``turn_latency_seconds``: for each message a turn handled, from the message's
  ``sent_at`` (the sender's clock) to the batch that took it (the worker's clock);
* ``timer_lateness_seconds``: for each timer the maintenance loop fired, from its
  due time to its claim (both on the Redis server's clock).

Each batch's observations are added up and put in the process's counter buffer
(:mod:`pyworkflow.worker.counter_buffer`), which writes to Redis about once a second: no
round trip on a turn's path. A process killed outright loses its last second of
observations; nothing is ever counted twice, since a batch that is not committed is
not reported.

Layout (one hash, :func:`pyworkflow.keys.turn_metrics`): each field is a JSON array
``[series, [label values...]]``; a histogram has ``<name>_bucket`` series (cumulative,
the last label is ``le``) and a ``<name>_sum``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actors.instruments import Instrument

from .. import events as ev
from .. import keys
from .counter_buffer import buffer_for

if TYPE_CHECKING:
    from actors.behaviour import TurnContext
    from actors.message import Message
    from actors.timers import ClaimedTimer

__all__ = ["HISTOGRAMS", "TurnMetrics", "le_text", "read_turn_metrics", "series_field"]

INF = float("inf")
#: Histogram upper bounds, in seconds.
HISTOGRAMS: dict[str, tuple[float, ...]] = {
    "turn_latency_seconds": (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                             2.5, 5.0, 10.0, 30.0, 60.0, 300.0, INF),
    "timer_lateness_seconds": (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
                               300.0, 3600.0, INF),
}


def le_text(bound: float) -> str:
    return "+Inf" if bound == INF else repr(bound)


def series_field(series: str, labels: Sequence[str] = ()) -> str:
    return json.dumps([series, list(labels)], separators=(",", ":"))


#: Each histogram's field names, built once: its sum, and (bound, field) per bucket.
_FIELDS: dict[str, tuple[str, tuple[tuple[float, str], ...]]] = {
    name: (series_field(f"{name}_sum"),
           tuple((b, series_field(f"{name}_bucket", (le_text(b),))) for b in bounds))
    for name, bounds in HISTOGRAMS.items()}


class _Tally:
    """A batch's observations, added up before the one write."""

    def __init__(self) -> None:
        self.ints: Counter[str] = Counter()
        self.floats: dict[str, float] = {}

    def count(self, series: str, *labels: str) -> None:
        self.ints[series_field(series, labels)] += 1

    def observe(self, name: str, seconds: float) -> None:
        seconds = max(0.0, seconds)  # a sender's clock ahead of ours is not negative time
        sum_field, buckets = _FIELDS[name]
        self.floats[sum_field] = self.floats.get(sum_field, 0.0) + seconds
        for bound, field in buckets:
            if seconds <= bound:
                self.ints[field] += 1

    def write(self, redis: Any, key: str) -> None:
        """Into this process's counter buffer (written to Redis within a second)."""
        if self.ints or self.floats:
            buffer_for(redis).add(key, self.ints, self.floats)


def _workflow(state: Any, event_data: dict[str, Any]) -> str:
    name = event_data.get("workflow")
    if not name:
        started = getattr(getattr(state, "history", None), "started", None) or {}
        name = started.get("workflow") if isinstance(started, dict) else None
    return str(name or "?")


class TurnMetrics(Instrument):
    """The worker side: counts what each committed batch and fired timer tells."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.key = keys.turn_metrics(prefix)

    def batch_committed(self, ctx: TurnContext, state: Any, messages: Sequence[Message],
                        taken_at: float) -> None:
        tally = _Tally()
        for message in messages:
            tally.observe("turn_latency_seconds", taken_at - message.sent_at)
        for event in ctx.events:
            if event.type == ev.WORKFLOW_STARTED:
                tally.count("runs_started_total", _workflow(state, event.data))
            elif event.type in ev.TERMINAL_STATUS:
                tally.count("runs_finished_total", _workflow(state, event.data),
                            ev.TERMINAL_STATUS[event.type])
            elif event.type == ev.WORKFLOW_PARKED:
                tally.count("runs_parked_total", _workflow(state, event.data))
        tally.write(self.redis, self.key)

    def timers_fired(self, timers: Sequence[ClaimedTimer], now_ms: int) -> None:
        tally = _Tally()
        for timer in timers:
            if timer.due_ms:
                tally.observe("timer_lateness_seconds", (now_ms - timer.due_ms) / 1000)
        tally.write(self.redis, self.key)


def read_turn_metrics(redis: Any, prefix: str) -> dict[tuple[str, tuple[str, ...]], float]:
    """``(series, label values) -> value`` for every field of the hash (bad fields skipped)."""
    out: dict[tuple[str, tuple[str, ...]], float] = {}
    for raw, value in redis.hgetall(keys.turn_metrics(prefix)).items():
        try:
            series, labels = json.loads(raw)
            out[(str(series), tuple(str(v) for v in labels))] = float(value)
        except (ValueError, TypeError):
            continue
    return out
