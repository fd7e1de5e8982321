"""Hooks: the run waits for a payload from outside, addressed by an unguessable token.

The token is made when the command is first recorded (and kept in the journal, so a
replay reuses it) and written to the hook store before the commit, so it resolves as
soon as anyone holds it. A timeout is a durable timer (purpose ``hook-timeout``). A
delivery claims the hook in the store with its payload; when the hook times out or
is cancelled after such a claim, the claimed payload is what the run records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.effects import CancelTimer, StartTimer

from ... import events as ev
from ... import ids, serialization
from ...durations import deadline_ms, parse_duration
from ...errors import HookExpiredError
from ...hook_errors import hook_error
from ...wire import HookDelivery, TimerFired, encode
from ..context import shielded
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..history import CallRecord
    from ..run import Run

#: ``on_created`` callbacks by call id, until the hook's command is recorded.
Callbacks = dict[int, Callable[[str], Any]]


class HookKind(CommandKind[Callbacks]):
    kind = "hook"
    resolutions = frozenset({ev.HOOK_RECEIVED, ev.HOOK_EXPIRED})

    def new_state(self) -> Callbacks:
        return {}

    def schedule(self, run: Run, name: str, timeout: Any,
                 on_created: Callable[[str], Any] | None) -> asyncio.Future[Any]:
        run.checkpoint()
        payload = {"timeout_s": None if timeout is None else parse_duration(timeout),
                   "shielded": shielded()}
        if on_created is not None:
            self.state(run)[run.next_call_id] = on_created
        return run.new_command(self.kind, name, payload)

    def emit(self, run: Run, cmd: Command) -> None:
        token = ids.new_hook_token()
        timeout_s = cmd.payload.get("timeout_s")
        expires = None if timeout_s is None else deadline_ms(timeout_s, run.now_ms)
        is_shielded = bool(cmd.payload.get("shielded"))
        run.emit(ev.HOOK_CREATED, {"call_id": cmd.call_id, "name": cmd.name, "token": token,
                                   "expires_at_ms": expires, "timeout_s": timeout_s,
                                   "shielded": is_shielded})
        # Before the commit, so the token resolves as soon as anyone has it; a turn that
        # fails to commit leaves a token no run is waiting on (refused later).
        run.ports.hooks.record(token, run.run_id, cmd.call_id, cmd.name, expires, is_shielded)
        if expires is not None:
            run.effect(StartTimer(
                timer_id=ids.wait_timer_id(run.run_id, cmd.call_id), due_ms=expires,
                actor_id=run.run_id, kind="timer-fired",
                payload=encode(TimerFired("hook-timeout", cmd.call_id))))
        callback = self.state(run).pop(cmd.call_id, None)
        if callback is not None:
            run.after_commit.append(lambda: callback(token))

    def messages(self) -> dict[str, Handler]:
        return {"hook-received": self.received}

    def timers(self) -> dict[str, Handler]:
        return {"hook-timeout": self.timed_out}

    def received(self, run: Run, delivery: HookDelivery) -> None:
        call = run.history.calls.get(delivery.call_id)
        if call is None or call.kind != self.kind or call.state != "pending" \
                or call.data.get("token") != delivery.token:
            return  # a token no waiting hook of this run holds
        data = {"call_id": call.call_id, "name": call.name, "payload": delivery.payload}
        run.emit(ev.HOOK_RECEIVED, data)
        run.resolve(ev.HOOK_RECEIVED, data)

    def timed_out(self, run: Run, timer: TimerFired) -> None:
        call = run.history.calls.get(timer.call_id if timer.call_id is not None else -1)
        if call is None or call.state != "pending" or call.kind != self.kind:
            return
        if not self._settle(run, call, "expired"):
            return  # a delivery won the race: its payload is recorded instead
        expired = {"call_id": call.call_id, "name": call.name}
        run.emit(ev.HOOK_EXPIRED, expired)
        run.resolve(ev.HOOK_EXPIRED, expired)

    def _settle(self, run: Run, call: CallRecord, to: str) -> bool:
        """Move a waiting hook to ``to`` (``expired``, ``cancelled``); False when a delivery
        claimed it first. Its payload is then recorded now, from the store (the message
        may still be on its way, or its sender may have died before sending it); the
        message, when it comes, finds the hook resolved and is dropped."""
        move = run.ports.hooks.settle(call.data["token"], to)
        if move.moved or move.status != "received":
            return True
        if move.payload is not None:
            self.received(run, HookDelivery(
                call.data["token"], call.call_id,
                serialization.parse_json(move.payload, "hook payload")))
        return False

    def outcome(self, run: Run, etype: str, data: dict[str, Any]) -> Outcome:
        if etype == ev.HOOK_RECEIVED:
            try:  # the limits the door applied: an accepted payload always decodes
                return "value", serialization.decode_checked(data.get("payload"),
                                                             "hook payload")
            except serialization.SerializationError as exc:  # recorded before the limits
                return "error", exc
        token = run.history.calls[data["call_id"]].data.get("token", "?")
        return "error", hook_error(HookExpiredError, token)

    def interrupt(self, run: Run, call: CallRecord) -> bool:
        if call.data.get("shielded"):
            return False
        run.effect(CancelTimer(ids.wait_timer_id(run.run_id, call.call_id)))
        return self._settle(run, call, "cancelled")
