"""What a run's journal says, as plain data: calls, their attempts and outcomes.

Built only from events, for replayed and new events alike, and independent of the
workflow's code. Message handling (dedupe, retries, timers) reads it, so a run
keeps recording what happens to it even when its code cannot be replayed (parked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL_EVENTS = {"workflow_completed": "completed", "workflow_failed": "failed",
                   "workflow_cancelled": "cancelled"}
COMMAND_EVENTS = {"step_scheduled", "sleep_started", *TERMINAL_EVENTS}


@dataclass
class CallRecord:
    call_id: int
    kind: str  # "step" | "sleep"
    name: str
    data: dict[str, Any]
    attempt: int = 1
    state: str = "pending"  # pending | retry_wait | done

    def describe(self) -> str:
        if self.kind == "sleep":
            return f"sleep until {self.data.get('wake_at_ms')}"
        return f"step {self.name}" + (f" (attempt {self.attempt})" if self.attempt > 1 else "")


@dataclass
class History:
    calls: dict[int, CallRecord] = field(default_factory=dict)
    started: dict[str, Any] | None = None
    status: str = "pending"
    terminal: dict[str, Any] | None = None
    parked: dict[str, Any] | None = None
    cancel_reason: str | None = None
    cancel_requested: bool = False
    last_ts: float = 0.0

    def record(self, etype: str, data: dict[str, Any], ts: float) -> None:
        self.last_ts = max(self.last_ts, ts)
        if etype == "workflow_started":
            self.started = data
            self.status = "running"
        elif etype == "step_scheduled":
            self.calls[data["call_id"]] = CallRecord(data["call_id"], "step", data["step"], data,
                                                     attempt=data.get("attempt", 1))
        elif etype == "sleep_started":
            self.calls[data["call_id"]] = CallRecord(data["call_id"], "sleep", "sleep", data)
        elif etype == "step_retrying":
            call = self.calls[data["call_id"]]
            call.attempt, call.state = data["attempt"], "pending"
        elif etype == "step_failed":
            call = self.calls[data["call_id"]]
            call.state = "retry_wait" if data.get("will_retry") else "done"
        elif etype in ("step_completed", "sleep_completed"):
            self.calls[data["call_id"]].state = "done"
        elif etype in TERMINAL_EVENTS:
            self.terminal = {"type": etype, **data}
            self.status = TERMINAL_EVENTS[etype]
        elif etype == "workflow_parked":
            self.parked = data
            self.status = "parked"
        elif etype == "workflow_resumed":
            self.parked = None
            self.status = "running"
        elif etype == "cancel_requested":
            self.cancel_requested = True
            self.cancel_reason = data.get("reason")

    @property
    def finished(self) -> bool:
        return self.terminal is not None

    def open_calls(self) -> list[CallRecord]:
        return [c for c in self.calls.values() if c.state != "done"]

    def live_status(self) -> str:
        """``running`` while a step is executing, ``suspended`` while the run waits only on
        durable things (sleeps, retry timers, hooks, children) and holds no worker."""
        if self.terminal is not None:
            return self.status
        if self.parked is not None:
            return "parked"
        if self.started is None:
            return "pending"
        if any(c.kind == "step" and c.state == "pending" for c in self.calls.values()):
            return "running"
        return "suspended"
