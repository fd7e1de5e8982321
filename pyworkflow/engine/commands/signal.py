"""Signals: named messages from apps, buffered per name, delivered in order, once each.

An app's ``send_signal`` puts a ``signal`` message in the run's mailbox; the run
records ``signal_received``. ``await wait_for_signal(name)`` is a command
(``signal_wait_started``): it takes the oldest signal of that name not yet delivered,
at once if one is buffered, else when the next one arrives (``signal_delivered``,
naming the received signal's position, so each is delivered once). With a timeout,
a durable timer ends the wait with ``SignalTimeoutError`` (``signal_timed_out``).
The buffer is rebuilt from the journal on replay: received minus delivered.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

from actors.effects import CancelTimer, StartTimer

from ... import events as ev
from ... import ids, serialization
from ...durations import deadline_ms, parse_duration
from ...errors import SignalTimeoutError
from ...wire import SignalSent, TimerFired, encode
from ..context import shielded
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..history import CallRecord
    from ..run import Run

#: Per signal name, the signals received and not yet delivered: (journal seq, payload).
Buffer = dict[str, collections.deque[tuple[int, Any]]]


class SignalKind(CommandKind[Buffer]):
    kind = "signal"
    resolutions = frozenset({ev.SIGNAL_DELIVERED, ev.SIGNAL_TIMED_OUT})
    observes = frozenset({ev.SIGNAL_RECEIVED, ev.SIGNAL_DELIVERED})

    def new_state(self) -> Buffer:
        return collections.defaultdict(collections.deque)

    def schedule(self, run: Run, name: str, timeout: Any) -> asyncio.Future[Any]:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a signal name is a non-empty string, not {name!r}")
        run.checkpoint()
        payload = {"timeout_s": None if timeout is None else parse_duration(timeout),
                   "shielded": shielded()}
        return run.new_command(self.kind, name, payload)

    def observe(self, run: Run, etype: str, data: dict[str, Any]) -> None:
        buffer = self.state(run)[data["name"]]
        if etype == ev.SIGNAL_RECEIVED:
            buffer.append((int(data["seq"]), data.get("payload")))
        else:
            while buffer and buffer[0][0] <= int(data["received_seq"]):
                buffer.popleft()

    def emit(self, run: Run, cmd: Command) -> None:
        timeout_s = cmd.payload.get("timeout_s")
        expires = None if timeout_s is None else deadline_ms(timeout_s, run.now_ms)
        run.emit(ev.SIGNAL_WAIT_STARTED, {"call_id": cmd.call_id, "name": cmd.name,
                                          "timeout_s": timeout_s, "expires_at_ms": expires,
                                          "shielded": cmd.payload.get("shielded", False)})
        if self._deliver(run, cmd.name):
            return
        if expires is not None:
            run.effect(StartTimer(
                timer_id=ids.wait_timer_id(run.run_id, cmd.call_id), due_ms=expires,
                actor_id=run.run_id, kind="timer-fired",
                payload=encode(TimerFired("signal-timeout", cmd.call_id))))

    def messages(self) -> dict[str, Handler]:
        return {"signal": self.received}

    def timers(self) -> dict[str, Handler]:
        return {"signal-timeout": self.timed_out}

    def received(self, run: Run, signal: SignalSent) -> None:
        name = signal.name
        if not name:
            return  # the client refuses these; a forged message changes nothing
        seq = run.turn().next_seq
        run.emit(ev.SIGNAL_RECEIVED, {"name": name, "payload": signal.payload,
                                      "seq": seq, "signal_id": signal.signal_id})
        self._deliver(run, name)

    def _deliver(self, run: Run, name: str) -> bool:
        """Hand the oldest buffered signal of ``name`` to the oldest wait for it."""
        buffer = self.state(run)[name]
        waiting = [c for c in run.history.open_calls()
                   if c.kind == self.kind and c.name == name and c.state == "pending"]
        if not buffer or not waiting:
            return False
        call = min(waiting, key=lambda c: c.call_id)
        seq, value = buffer[0]
        data = {"call_id": call.call_id, "name": name, "payload": value, "received_seq": seq}
        run.emit(ev.SIGNAL_DELIVERED, data)
        if call.data.get("expires_at_ms") is not None:
            run.effect(CancelTimer(ids.wait_timer_id(run.run_id, call.call_id)))
        run.resolve(ev.SIGNAL_DELIVERED, data)
        return True

    def timed_out(self, run: Run, timer: TimerFired) -> None:
        call = run.history.calls.get(timer.call_id if timer.call_id is not None else -1)
        if call is None or call.state != "pending" or call.kind != self.kind:
            return
        data = {"call_id": call.call_id, "name": call.name}
        run.emit(ev.SIGNAL_TIMED_OUT, data)
        run.resolve(ev.SIGNAL_TIMED_OUT, data)

    def outcome(self, run: Run, etype: str, data: dict[str, Any]) -> Outcome:
        if etype == ev.SIGNAL_DELIVERED:
            return "value", serialization.decode(data.get("payload"))
        call = run.history.calls[data["call_id"]]
        return "error", SignalTimeoutError(call.name, call.data.get("timeout_s"))

    def interrupt(self, run: Run, call: CallRecord) -> bool:
        if call.data.get("shielded"):
            return False
        if call.data.get("expires_at_ms") is not None:
            run.effect(CancelTimer(ids.wait_timer_id(run.run_id, call.call_id)))
        return True
