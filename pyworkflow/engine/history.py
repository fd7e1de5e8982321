"""What a run's journal says, as plain data: calls, their attempts and outcomes.

Built only from events, for replayed and new events alike, and independent of the
workflow's code. Message handling (dedupe, retries, timers, hooks, children) reads
it, so a run keeps recording what happens to it even when its code cannot be
replayed (parked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import events as ev

#: The command events that open a call the history tracks (a run's end is no call).
_CALL_KINDS = {name: kind for name, kind in ev.COMMAND_KINDS.items() if kind in ev.CALL_KINDS}


@dataclass
class CallRecord:
    call_id: int
    kind: str  # step | sleep | hook | child
    name: str
    data: dict[str, Any]
    attempt: int = 1
    state: str = "pending"  # pending | retry_wait | parked | done
    worker_losses: int = 0
    failed_seq: int | None = None  # seq of the failure that ended it, if it failed
    #: when the call began (its command event's time, epoch seconds): a wait's span starts here
    started_ts: float = 0.0

    def describe(self) -> str:
        if self.kind == "sleep":
            return f"sleep until {self.data.get('wake_at_ms')}"
        if self.kind == "hook":
            return f"hook {self.name}"
        if self.kind == "child":
            return f"child {self.name} {self.data.get('child_run_id')}"
        if self.kind == "signal":
            return f"signal {self.name}"
        return f"step {self.name}" + (f" (attempt {self.attempt})" if self.attempt > 1 else "")


@dataclass
class History:
    calls: dict[int, CallRecord] = field(default_factory=dict)
    #: the calls not done yet, kept as events arrive so a turn never scans the history
    open: dict[int, CallRecord] = field(default_factory=dict)
    started: dict[str, Any] | None = None
    status: str = "pending"
    terminal: dict[str, Any] | None = None
    parked: dict[str, Any] | None = None
    cancel_requested: bool = False
    cancel_reason: str | None = None
    cancel_force: bool = True
    #: the cancel came from the run's own deadline (``max_duration``): it ends failed
    cancel_timed_out: bool = False
    #: the journal passed the warning size (``history_large``)
    history_warned: bool = False
    recoveries: int = 0
    #: msg ids of the operator's retries that re-opened the run: a finished run's seen
    #: set is dropped when its journal is sealed, so a retry delivered twice is known here
    retry_ids: set[str] = field(default_factory=set)
    terminal_seq: int | None = None
    last_ts: float = 0.0
    #: the run waits for a concurrency slot (``slot_waiting``): its limit key and start
    slot_waiting: dict[str, Any] | None = None

    def record(self, etype: str, data: dict[str, Any], ts: float, seq: int = 0) -> None:
        self._record(etype, data, ts, seq)
        call = self.calls.get(data.get("call_id", -1)) if isinstance(data, dict) else None
        if call is not None:
            if call.state == "done":
                self.open.pop(call.call_id, None)
            else:
                self.open[call.call_id] = call

    def _record(self, etype: str, data: dict[str, Any], ts: float, seq: int) -> None:
        self.last_ts = max(self.last_ts, ts)
        if etype == ev.WORKFLOW_STARTED:
            self.started = data
            self.status = "running"
        elif etype in _CALL_KINDS:
            name = data.get("step") or data.get("name") or data.get("workflow") or etype
            self.calls[data["call_id"]] = CallRecord(
                data["call_id"], _CALL_KINDS[etype], name, data, attempt=data.get("attempt", 1),
                started_ts=ts)
        elif etype == ev.STEP_RETRYING:
            call = self.calls[data["call_id"]]
            call.attempt, call.state = data["attempt"], "pending"
        elif etype == ev.STEP_FAILED:
            call = self.calls[data["call_id"]]
            if data.get("worker_lost"):
                call.worker_losses += 1
            if data.get("parked"):
                call.state = "parked"
            elif data.get("will_retry"):
                call.state = "retry_wait"
            else:
                call.state, call.failed_seq = "done", seq
        elif etype in ev.RESOLUTIONS:
            found = self.calls.get(data["call_id"])
            # An interrupted wait on a child ends the wait, not the child.
            if found is not None and not (etype == ev.WAIT_CANCELLED and found.kind == "child"):
                found.state = "done"
        elif etype in ev.TERMINAL_STATUS:
            self.terminal = {"type": etype, **data}
            self.status = ev.TERMINAL_STATUS[etype]
            self.terminal_seq = seq
        elif etype == ev.WORKFLOW_RECOVERED:
            self.recoveries = data.get("recoveries", self.recoveries + 1)
        elif etype == ev.RUN_RETRIED:
            if data.get("retry_id"):
                self.retry_ids.add(data["retry_id"])
            self.terminal, self.terminal_seq, self.parked = None, None, None
            self.status = "running"
            call_id = data.get("call_id")
            if call_id in self.calls:
                self.calls[call_id].state = "retry_wait"
        elif etype == ev.WORKFLOW_PARKED:
            self.parked = data
            self.status = "parked"
        elif etype == ev.WORKFLOW_RESUMED:
            self.parked = None
            self.status = "running"
        elif etype == ev.SLOT_WAITING:
            self.slot_waiting = data
        elif etype == ev.HISTORY_LARGE:
            self.history_warned = True
        elif etype == ev.CANCEL_REQUESTED:
            self.cancel_requested = True
            self.cancel_reason = data.get("reason")
            self.cancel_force = data.get("force", True)
            self.cancel_timed_out = bool(data.get("timed_out"))

    @property
    def finished(self) -> bool:
        return self.terminal is not None

    def open_calls(self) -> list[CallRecord]:
        return list(self.open.values())

    def waits_long(self, now_ms: float, at_least_ms: float) -> bool:
        """No step open and no sleep due within ``at_least_ms``: the run will not grow its
        journal soon, so it is worth sealing (``actors.sealed``)."""
        wakes = []
        for call in self.open.values():
            if call.kind == "step":
                return False
            if call.kind == "sleep":
                wakes.append(int(call.data.get("wake_at_ms") or 0))
        return not wakes or min(wakes) - now_ms >= at_least_ms

    def live_status(self) -> str:
        """``running`` while a step is executing, ``suspended`` while the run waits only on
        durable things (sleeps, retry timers, hooks, children) and holds no worker."""
        if self.terminal is not None:
            return self.status
        if self.parked is not None:
            return "parked"
        if self.started is None:
            return "pending"
        if any(c.kind == "step" and c.state == "pending" for c in self.open.values()):
            return "running"
        return "suspended"
