"""A schedule's state: rebuilt from its journal, event by event (:func:`evolve`).

The behaviour decides with it and emits events; the same ``evolve`` applies an
event as it is emitted and when the journal is read back, so the two never differ.
Everything a decision needs is in the events themselves (fire times, run ids,
the next armed firing), never the clock at replay time.

Three events of a schedule's journal are defined here, not in ``pyworkflow.events``
(they are about the schedule's own turns, not its firings): ``schedule_recovered``
(turn tasks of the schedule died: how many, and how many in a row),
``schedule_steady`` (a turn committed after such deaths: the count starts again) and
``schedule_errored`` (too many in a row: the schedule is parked in status ``error``
until an operator resumes or deletes it; see ``behaviour``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import events as ev
from .limits import RECENT_FIRES
from .spec import ScheduleSpec

__all__ = ["RECENT_FIRES", "SCHEDULE_ERRORED", "SCHEDULE_RECOVERED", "SCHEDULE_STEADY",
           "ScheduleState", "evolve"]

# RECENT_FIRES: how many recent fire times a schedule remembers to refuse starting one
# twice (a backfill over times that already fired). Older duplicates are still harmless:
# the run actor drops a repeated start message.

SCHEDULE_RECOVERED = ev.SCHEDULE_RECOVERED
SCHEDULE_STEADY = ev.SCHEDULE_STEADY
SCHEDULE_ERRORED = ev.SCHEDULE_ERRORED


@dataclass
class ScheduleState:
    schedule_id: str
    status: str = ""  # "", "active", "paused", "error", "deleted"
    spec: ScheduleSpec | None = None
    #: bumped by every create, update, pause, resume and delete: a timer armed under an
    #: older generation is stale when it fires
    generation: int = 0
    next_fire_ms: int | None = None
    running: list[str] = field(default_factory=list)
    cancel_sent: set[str] = field(default_factory=set)
    buffered: list[int] = field(default_factory=list)
    recent_fires: list[int] = field(default_factory=list)
    fired: int = 0
    skipped: int = 0
    last_fire_ms: int | None = None
    last_run_id: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    #: turn tasks of this schedule that died since a turn last committed
    crashes_in_a_row: int = 0
    #: why the schedule is parked (status "error")
    error: str | None = None

    @property
    def exists(self) -> bool:
        return self.status in ("active", "paused")


def evolve(state: ScheduleState, etype: str, data: dict[str, Any], ts: float) -> None:
    """Apply one event to ``state`` (``ts``: when it was decided)."""
    state.updated_at = ts
    if etype in (ev.SCHEDULE_CREATED, ev.SCHEDULE_UPDATED):
        state.spec = ScheduleSpec.from_dict(data["spec"])
        state.generation += 1
        if etype == ev.SCHEDULE_CREATED:
            state.status, state.created_at = "active", ts
            state.crashes_in_a_row, state.error = 0, None
    elif etype == ev.SCHEDULE_PAUSED:
        state.status, state.next_fire_ms = "paused", None
        state.generation += 1
    elif etype == ev.SCHEDULE_RESUMED:
        state.status, state.crashes_in_a_row, state.error = "active", 0, None
        state.generation += 1
    elif etype == ev.SCHEDULE_DELETED:
        state.status, state.next_fire_ms, state.buffered = "deleted", None, []
        state.error = None
        state.generation += 1
    elif etype == SCHEDULE_RECOVERED:
        state.crashes_in_a_row = int(data["in_a_row"])
    elif etype == SCHEDULE_STEADY:
        state.crashes_in_a_row = 0
    elif etype == SCHEDULE_ERRORED:
        state.status, state.next_fire_ms, state.error = "error", None, str(data["reason"])
        state.generation += 1
    elif etype == ev.SCHEDULE_ARMED:
        state.next_fire_ms = data.get("fire_ms")
    elif etype == ev.SCHEDULE_FIRED:
        _fired(state, data)
    elif etype == ev.SCHEDULE_SKIPPED:
        state.skipped += 1
    elif etype == ev.SCHEDULE_BUFFERED:
        if data.get("replace"):
            state.buffered = []
        state.buffered.append(int(data["fire_ms"]))
    elif etype == ev.SCHEDULE_CANCEL_SENT:
        state.cancel_sent.add(data["run_id"])
    elif etype == ev.SCHEDULE_RUN_ENDED:
        if data["run_id"] in state.running:
            state.running.remove(data["run_id"])
        state.cancel_sent.discard(data["run_id"])


def _fired(state: ScheduleState, data: dict[str, Any]) -> None:
    fire_ms = int(data["fire_ms"])
    if fire_ms in state.buffered:
        state.buffered.remove(fire_ms)
    state.running.append(data["run_id"])
    state.recent_fires.append(fire_ms)
    del state.recent_fires[:-RECENT_FIRES]
    state.fired += 1
    state.last_fire_ms, state.last_run_id = fire_ms, data["run_id"]
