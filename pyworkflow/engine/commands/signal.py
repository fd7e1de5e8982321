"""Signals: named messages from apps, buffered per name, delivered in order, once each.

An app's ``send_signal`` puts a ``signal`` message in the run's mailbox; the run
records ``signal_received``. ``await wait_for_signal(name)`` is a command
(``signal_wait_started``): it takes the oldest signal of that name not yet delivered,
at once if one is buffered, else when the next one arrives (``signal_delivered``,
naming the received signal's position, so each is delivered once). With a timeout,
a durable timer ends the wait with ``SignalTimeoutError`` (``signal_timed_out``).
The buffer is rebuilt from the journal on replay: received minus delivered.

The buffer is bounded. Each buffered signal is an event in the run's journal, and a
journal only grows: signals nobody waits for (a typo in a name, a flood) would
otherwise fill it to the history limit and park the run, and ``runs retry`` could not
help, the journal being no shorter. So a run keeps at most ``MAX_BUFFERED_SIGNALS``
signals not yet taken by a wait, at most ``MAX_BUFFERED_PER_NAME`` of one name and at
most ``MAX_BUFFERED_BYTES`` of their payloads (compact JSON; one payload is at most
``serialization.MAX_BYTES``, so without this 1,000 signals of 1 MB could wait). A
signal past any bound is refused: not journaled, moved to the dead letters with
the reason (``MessageRejected``), so the sender's loss is visible (``pyworkflow
dead-letters``) and the run goes on as if it never came. A signal that a wait takes at
once is never refused: it does not stay in the buffer.

A signal is refused the same way, never dropped silently, when its name or id breaks
the bounds of ``pyworkflow.limits`` or its payload those of ``serialization`` (over
``MAX_BYTES`` of JSON or ``MAX_DEPTH`` deep, as ``send_signal`` refuses it: a forged
message, an old client; measured whether or not a wait takes it at once), when the run
has already finished (it raced the run's end: ``run already completed``), or when the
run does not exist (purged, or never started: see ``RunBehaviour.handle``).
"""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.behaviour import MessageRejected
from actors.effects import CancelTimer, StartTimer

from ... import events as ev
from ... import ids, limits, serialization
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

#: At most this many signals wait in a run's buffer (received, not yet taken by a wait).
MAX_BUFFERED_SIGNALS = 1_000
#: At most this many signals of one name wait in a run's buffer.
MAX_BUFFERED_PER_NAME = 100
#: At most this many bytes of payload (compact JSON text) wait in a run's buffer.
MAX_BUFFERED_BYTES = 16 * 1024 * 1024


def payload_bytes(payload: Any) -> int:
    """A buffered payload's size as the byte bound counts it: its compact JSON text."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
               .encode("utf-8", "surrogatepass"))


@dataclass
class Buffer:
    """The signals received and not yet delivered, per name: (journal seq, payload).
    A name with none buffered has no entry, and ``total`` is kept as signals come and
    go, so checking the bounds costs the same however many names a run has seen."""

    by_name: dict[str, collections.deque[tuple[int, Any]]] = field(default_factory=dict)
    total: int = 0
    #: bytes of the buffered payloads (``payload_bytes``), kept like ``total``
    size: int = 0
    _sizes: dict[int, int] = field(default_factory=dict)

    def add(self, name: str, seq: int, payload: Any) -> None:
        self.by_name.setdefault(name, collections.deque()).append((seq, payload))
        self.total += 1
        self._sizes[seq] = payload_bytes(payload)
        self.size += self._sizes[seq]

    def oldest(self, name: str) -> tuple[int, Any] | None:
        queue = self.by_name.get(name)
        return queue[0] if queue else None

    def take_through(self, name: str, seq: int) -> None:
        """Forget the signals of ``name`` up to journal position ``seq`` (delivered)."""
        queue = self.by_name.get(name)
        while queue and queue[0][0] <= seq:
            taken, _ = queue.popleft()
            self.total -= 1
            self.size -= self._sizes.pop(taken, 0)
        if queue is not None and not queue:
            del self.by_name[name]

    def count(self, name: str) -> int:
        queue = self.by_name.get(name)
        return len(queue) if queue else 0


class SignalKind(CommandKind[Buffer]):
    kind = "signal"
    resolutions = frozenset({ev.SIGNAL_DELIVERED, ev.SIGNAL_TIMED_OUT})
    observes = frozenset({ev.SIGNAL_RECEIVED, ev.SIGNAL_DELIVERED})

    def new_state(self) -> Buffer:
        return Buffer()

    def schedule(self, run: Run, name: str, timeout: Any) -> asyncio.Future[Any]:
        # The bounds ``send_signal`` applies: a name past them could never be matched.
        limits.check_signal_name(name)
        run.checkpoint()
        payload = {"timeout_s": None if timeout is None else parse_duration(timeout),
                   "shielded": shielded()}
        return run.new_command(self.kind, name, payload)

    def observe(self, run: Run, etype: str, data: dict[str, Any]) -> None:
        buffer = self.state(run)
        if etype == ev.SIGNAL_RECEIVED:
            buffer.add(data["name"], int(data["seq"]), data.get("payload"))
        else:
            buffer.take_through(data["name"], int(data["received_seq"]))

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
        """Journal the signal, and hand it to a waiting ``wait_for_signal``; or refuse
        it (``MessageRejected``: the runtime dead-letters it) when it breaks a bound."""
        try:
            name = limits.check_signal_name(signal.name)
            if signal.signal_id is not None:
                limits.check_signal_id(signal.signal_id)
        except (TypeError, ValueError) as exc:
            raise MessageRejected(f"signal refused: {exc}") from None
        try:  # the door's limits (send_signal checks them first): whether or not it stays
            serialization.check_limits(signal.payload, "signal payload")
        except serialization.PayloadError as exc:
            raise MessageRejected(f"signal refused: {exc}") from None
        self._check_room(run, name, signal.payload)
        seq = run.turn().next_seq
        run.emit(ev.SIGNAL_RECEIVED, {"name": name, "payload": signal.payload,
                                      "seq": seq, "signal_id": signal.signal_id})
        self._deliver(run, name)

    def _check_room(self, run: Run, name: str, payload: Any) -> None:
        """Refuse a signal that would stay buffered past a bound. One a wait takes now
        is always let in (with a wait pending, no signal of that name is buffered)."""
        if self._waits(run, name):
            return
        buffer = self.state(run)
        if buffer.count(name) >= MAX_BUFFERED_PER_NAME:
            raise MessageRejected(
                f"signal refused: {MAX_BUFFERED_PER_NAME} signals named {name!r} already "
                "wait in the run's buffer, taken by no wait_for_signal (the limit per "
                "name; see pyworkflow.engine.commands.signal)")
        if buffer.total >= MAX_BUFFERED_SIGNALS:
            raise MessageRejected(
                f"signal refused: {MAX_BUFFERED_SIGNALS} signals already wait in the "
                "run's buffer, taken by no wait_for_signal (the limit per run; see "
                "pyworkflow.engine.commands.signal)")
        size = payload_bytes(payload)
        if buffer.size + size > MAX_BUFFERED_BYTES:
            raise MessageRejected(
                f"signal refused: its payload ({size} bytes) would bring the run's buffer "
                f"past {MAX_BUFFERED_BYTES} bytes of signals taken by no wait_for_signal "
                "(the limit per run; see pyworkflow.engine.commands.signal)")

    def _waits(self, run: Run, name: str) -> list[CallRecord]:
        return [c for c in run.history.open_calls()
                if c.kind == self.kind and c.name == name and c.state == "pending"]

    def _deliver(self, run: Run, name: str) -> bool:
        """Hand the oldest buffered signal of ``name`` to the oldest wait for it."""
        oldest = self.state(run).oldest(name)
        waiting = self._waits(run, name) if oldest is not None else []
        if oldest is None or not waiting:
            return False
        call = min(waiting, key=lambda c: c.call_id)
        seq, value = oldest
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
