"""Sleeps: a durable timer (purpose ``sleep``) that wakes the run, never early."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from actors.effects import CancelTimer, StartTimer

from ... import events as ev
from ... import ids
from ...durations import deadline_ms, parse_duration
from ...wire import TimerFired, encode
from ..context import shielded
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..history import CallRecord
    from ..run import Run


class SleepKind(CommandKind[None]):
    kind = "sleep"
    resolutions = frozenset({ev.SLEEP_COMPLETED})

    def schedule(self, run: Run, duration: Any) -> asyncio.Future[Any]:
        run.checkpoint()
        if isinstance(duration, dt.datetime):
            payload: dict[str, Any] = {"until": duration, "duration_s": None}
        else:
            payload = {"duration_s": parse_duration(duration)}
        payload["shielded"] = shielded()
        return run.new_command(self.kind, "sleep", payload)

    def same(self, cmd: Command, etype: str, data: dict[str, Any]) -> bool:
        return True  # a sleep's length may change between deploys; its position may not

    def describe(self, cmd: Command) -> str:
        return f"sleep({cmd.payload.get('duration_s')}s)"

    def describe_event(self, etype: str, data: dict[str, Any]) -> str:
        return f"sleep({data.get('duration_s')}s)"

    def emit(self, run: Run, cmd: Command) -> None:
        until = cmd.payload.get("until")
        wake = deadline_ms(until if until is not None else cmd.payload["duration_s"],
                           run.now_ms)
        run.emit(ev.SLEEP_STARTED, {"call_id": cmd.call_id, "wake_at_ms": wake,
                                    "duration_s": cmd.payload.get("duration_s"),
                                    "shielded": cmd.payload.get("shielded", False)})
        run.effect(StartTimer(
            timer_id=ids.wait_timer_id(run.run_id, cmd.call_id), due_ms=wake,
            actor_id=run.run_id, kind="timer-fired",
            payload=encode(TimerFired("sleep", cmd.call_id))))

    def timers(self) -> dict[str, Handler]:
        return {"sleep": self.woke}

    def woke(self, run: Run, timer: TimerFired) -> None:
        call = run.history.calls.get(timer.call_id if timer.call_id is not None else -1)
        if call is None or call.state != "pending" or call.kind != self.kind:
            return
        data: dict[str, Any] = {"call_id": call.call_id}
        run.emit(ev.SLEEP_COMPLETED, data)
        run.resolve(ev.SLEEP_COMPLETED, data)

    def outcome(self, run: Run, etype: str, data: dict[str, Any]) -> Outcome:
        return "value", None

    def interrupt(self, run: Run, call: CallRecord) -> bool:
        if call.data.get("shielded"):
            return False
        run.effect(CancelTimer(ids.wait_timer_id(run.run_id, call.call_id)))
        return True
