"""A schedule's record: what its actor projects each turn, and what apps read back.

The record is a hash beside the schedule's journal, written in the same commit as
its events (so it never disagrees with them); ``get_schedule``, ``list_schedules``
and ``pyworkflow schedules show`` read only this.

A record that cannot be read (written by an older version, or by hand) must not
break ``list_schedules`` for every other schedule: :meth:`ScheduleInfo.unreadable`
stands in for it, with status ``error`` and the reason in ``error``. A schedule
parked after its turns died too often (see ``behaviour``) has status ``error`` too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .spec import ScheduleSpec
from .state import ScheduleState


def project(state: ScheduleState) -> dict[str, str]:
    """The record's fields; never raises (a turn that cannot project would die, again
    and again), so a state it cannot show whole shows its status and why."""
    try:
        return _whole(state)
    except Exception as exc:  # noqa: BLE001 - anything: the record must be written
        return {"schedule_id": state.schedule_id, "status": state.status,
                "error": state.error or f"record not projected: {type(exc).__name__}: {exc}",
                "updated_at": repr(state.updated_at or 0.0)}


def _whole(state: ScheduleState) -> dict[str, str]:
    spec = state.spec
    if spec is None:  # deleted or parked before it was ever created
        return {"schedule_id": state.schedule_id, "status": state.status,
                "error": state.error or "", "next_fire_ms": "",
                "updated_at": repr(state.updated_at or 0.0)}
    return {
        "schedule_id": state.schedule_id, "status": state.status, "workflow": spec.workflow,
        "spec": json.dumps(spec.to_dict()), "describe": spec.describe(),
        "next_fire_ms": "" if state.next_fire_ms is None else str(state.next_fire_ms),
        "last_fire_ms": "" if state.last_fire_ms is None else str(state.last_fire_ms),
        "last_run_id": state.last_run_id or "", "running": json.dumps(state.running),
        "buffered": json.dumps(state.buffered), "fired": str(state.fired),
        "skipped": str(state.skipped), "created_at": repr(state.created_at or 0.0),
        "updated_at": repr(state.updated_at or 0.0), "error": state.error or "",
    }


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule as its record shows it. Times are epoch seconds (UTC)."""

    schedule_id: str
    status: str  # "active", "paused", "error" or "deleted"
    workflow: str
    spec: ScheduleSpec
    next_fire_at: float | None
    last_fire_at: float | None
    last_run_id: str | None
    running: list[str]
    buffered: list[float]
    fired: int
    skipped: int
    created_at: float
    updated_at: float
    #: why the schedule is in status "error" (parked, or its record is unreadable)
    error: str | None = None

    @property
    def cron(self) -> str | None:
        return self.spec.cron

    @property
    def interval(self) -> float | None:
        return self.spec.interval_s

    @property
    def overlap(self) -> str:
        return self.spec.overlap

    @classmethod
    def from_record(cls, raw: dict[Any, Any]) -> ScheduleInfo:
        rec = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                                                              else v) for k, v in raw.items()}

        def at(name: str) -> float | None:
            return int(rec[name]) / 1000 if rec.get(name) else None

        return cls(schedule_id=rec["schedule_id"], status=rec["status"],
                   workflow=rec["workflow"], spec=ScheduleSpec.from_dict(json.loads(rec["spec"])),
                   next_fire_at=at("next_fire_ms"), last_fire_at=at("last_fire_ms"),
                   last_run_id=rec.get("last_run_id") or None,
                   running=json.loads(rec.get("running") or "[]"),
                   buffered=[ms / 1000 for ms in json.loads(rec.get("buffered") or "[]")],
                   fired=int(rec.get("fired") or 0), skipped=int(rec.get("skipped") or 0),
                   created_at=float(rec.get("created_at") or 0),
                   updated_at=float(rec.get("updated_at") or 0), error=rec.get("error") or None)

    @classmethod
    def read(cls, schedule_id: str, raw: dict[Any, Any]) -> ScheduleInfo:
        """:meth:`from_record`, or :meth:`unreadable` when the record cannot be read."""
        try:
            return cls.from_record(raw)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, show it
            return cls.unreadable(schedule_id, raw, exc)

    @classmethod
    def unreadable(cls, schedule_id: str, raw: dict[Any, Any], exc: Exception) -> ScheduleInfo:
        """Stands in for a record :meth:`from_record` refused: shown, marked, deletable."""
        get = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}.get
        workflow = _text(get("workflow")) or "?"
        status, error = _text(get("status")), _text(get("error"))
        return cls(schedule_id=schedule_id, status="deleted" if status == "deleted" else "error",
                   workflow=workflow,
                   spec=ScheduleSpec(workflow=workflow, args=[], kwargs={}),
                   next_fire_at=None, last_fire_at=None, last_run_id=None, running=[],
                   buffered=[], fired=0, skipped=0, created_at=0.0, updated_at=0.0,
                   error=error or f"unreadable record: {type(exc).__name__}: {exc}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
