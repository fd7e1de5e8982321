"""A run's timeline: its journal turned into bars against time. Pure, no I/O.

Why a separate, pure module: the journal already holds every fact the picture needs
(each call's command event opens it, its resolution closes it, a step's failed
attempts and retry waits sit in between), so the timeline is a function of the
events and can be tested without Redis. A call still open is drawn up to ``now``
(or the run's end), so a person sees at a glance what the run is waiting on.

Each bar is ``{"call_id", "kind", "label", "start", "end", "state", "segments"}``;
``segments`` split a step into its attempts (``attempt``) and the waits between
them (``retry_wait``), with times in seconds since the epoch.
"""

from __future__ import annotations

from typing import Any

from .. import events as ev

__all__ = ["build_timeline"]

#: The event that opens each kind of call, and the label field it carries.
_OPENERS: dict[str, tuple[str, str]] = {
    ev.STEP_SCHEDULED: ("step", "step"), ev.SLEEP_STARTED: ("sleep", ""),
    ev.HOOK_CREATED: ("hook", "name"), ev.CHILD_STARTED: ("child", "workflow"),
    ev.SIGNAL_WAIT_STARTED: ("signal", "name"),
}
#: Resolutions and the state each leaves a bar in.
_CLOSERS: dict[str, str] = {
    ev.STEP_COMPLETED: "completed", ev.SLEEP_COMPLETED: "completed",
    ev.HOOK_RECEIVED: "completed", ev.HOOK_EXPIRED: "expired",
    ev.CHILD_COMPLETED: "completed", ev.CHILD_FAILED: "failed",
    ev.SIGNAL_DELIVERED: "completed", ev.SIGNAL_TIMED_OUT: "expired",
    ev.WAIT_CANCELLED: "cancelled",
}


def build_timeline(events: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """``{"start", "end", "bars"}`` from a run's events (as ``get_workflow_events``
    returns them), oldest first.

    The events may be only the newest of a long journal (the run page reads no more:
    ``run_detail.EVENTS_SHOWN``): a call opened before them then has no bar, and
    ``start`` is the first of them, not the run's start."""
    bars: dict[int, dict[str, Any]] = {}
    start = events[0]["timestamp"] if events else now
    end: float | None = None
    for event in events:
        kind, ts, data = event["type"], event["timestamp"], event.get("data") or {}
        call_id = data.get("call_id") if isinstance(data, dict) else None
        if kind in ev.TERMINAL_STATUS or kind == ev.WORKFLOW_PARKED:
            end = ts
        if kind in _OPENERS and call_id is not None:
            bars[call_id] = _open(kind, ts, data)
            continue
        bar = bars.get(call_id) if call_id is not None else None
        if bar is None:
            continue
        if kind == ev.STEP_FAILED and data.get("will_retry"):
            _close_segment(bar, ts, "failed")
            bar["segments"].append({"kind": "retry_wait", "start": ts, "end": None,
                                    "state": "waiting"})
        elif kind in (ev.STEP_RETRYING, ev.STEP_REDISPATCHED):
            _close_segment(bar, ts, "completed")
            bar["segments"].append({"kind": "attempt", "attempt": data.get("attempt"),
                                    "start": ts, "end": None, "state": "running"})
        elif kind in _CLOSERS or kind == ev.STEP_FAILED:
            state = _CLOSERS.get(kind, "failed")
            _close_segment(bar, ts, state)
            bar["end"], bar["state"] = ts, state
    last = end if end is not None else now
    for bar in bars.values():
        if bar["end"] is None:
            bar["end"] = last
            for seg in bar["segments"]:
                if seg["end"] is None:
                    seg["end"] = last
    ordered = sorted(bars.values(), key=lambda b: (b["start"], b["call_id"]))
    return {"start": start, "end": max([last, *(b["end"] for b in ordered)]), "bars": ordered}


def _open(kind: str, ts: float, data: dict[str, Any]) -> dict[str, Any]:
    what, field = _OPENERS[kind]
    label = str(data.get(field) or what) if field else f"sleep {_wake_text(ts, data)}"
    bar: dict[str, Any] = {"call_id": data["call_id"], "kind": what, "label": label,
                           "start": ts, "end": None, "state": "running", "segments": []}
    if what == "step":
        bar["segments"].append({"kind": "attempt", "attempt": 1, "start": ts, "end": None,
                                "state": "running"})
    if what == "child":
        bar["child_run_id"] = data.get("child_run_id")
    return bar


def _wake_text(ts: float, data: dict[str, Any]) -> str:
    wake = data.get("wake_at_ms")
    return f"{max(0.0, wake / 1000 - ts):.1f}s" if isinstance(wake, int | float) else ""


def _close_segment(bar: dict[str, Any], ts: float, state: str) -> None:
    if bar["segments"] and bar["segments"][-1]["end"] is None:
        bar["segments"][-1]["end"] = ts
        bar["segments"][-1]["state"] = state
