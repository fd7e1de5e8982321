"""Hooks: the run waits for a payload from outside, addressed by an unguessable token.

The token is made when the command is first recorded (and kept in the journal, so a
replay reuses it) and written to the hook store before the commit, so it resolves as
soon as anyone holds it. A timeout is a durable timer (purpose ``hook-timeout``). A
delivery claims the hook in the store with its payload; when the hook times out or
is cancelled after such a claim, the claimed payload is what the run records.

A typed hook (``define_hook``) hands its model to the wait. The record gets the
model's JSON Schema, so the doors check payloads without the model; and every payload
that arrives is checked with the model here, when its message is handled, before the
run records it. The doors' check can be behind the code (the schema was stored when
the wait began): a payload the model refuses is journaled as ``hook_payload_rejected``
with its field errors, the store's claim is given back (the hook is pending again),
and the call stays open, so a bad payload never fails the run and a good one can
still come. Checking when the await resolves instead would be too late: by then the
payload is recorded and the run could only fail.

The model lives in this kind's per-run state, put there by the code's own wait (the
code reaches the wait again on every replay, before any message is handled), never in
the journal. Refusals are counted per call from the journal: the count is the round
of the next delivery, which the store's give-back checks so that a refusal handled
twice never gives back a later claim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.effects import CancelTimer, StartTimer

from ... import events as ev
from ... import ids, limits, serialization
from ...durations import deadline_ms, parse_duration
from ...errors import HookExpiredError
from ...hook_errors import hook_error
from ...hook_info import model_problems, schema_of
from ...wire import HookDelivery, TimerFired, encode
from ..context import shielded
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..history import CallRecord
    from ..run import Run

#: The longest hook name, in characters (``hook(name)``, ``define_hook(name, ...)``): the
#: name is journaled with the hook, stored with its token and shown wherever hooks are
#: listed, so it has the bounds of a signal name (``pyworkflow.limits``).
MAX_HOOK_NAME_CHARS = limits.MAX_SIGNAL_NAME_CHARS


def check_hook_name(name: Any) -> str:
    """``name`` if it is a usable hook name: a non-empty, printable string of at most
    ``MAX_HOOK_NAME_CHARS`` characters (``TypeError`` / ``ValueError`` otherwise)."""
    return limits.check_text(name, "hook name", MAX_HOOK_NAME_CHARS)


@dataclass
class Waits:
    """What a run keeps about its hooks beside the journal, by call id."""

    #: ``on_created`` callbacks, until the hook's command is recorded
    callbacks: dict[int, Callable[[str], Any]] = field(default_factory=dict)
    #: the model a typed hook's payload must fit (set by the code's wait, on every replay)
    models: dict[int, Any] = field(default_factory=dict)
    #: how many payloads the run refused (``hook_payload_rejected``, replayed or new)
    rejected: dict[int, int] = field(default_factory=dict)


class HookKind(CommandKind[Waits]):
    kind = "hook"
    resolutions = frozenset({ev.HOOK_RECEIVED, ev.HOOK_EXPIRED})
    observes = frozenset({ev.HOOK_PAYLOAD_REJECTED})

    def new_state(self) -> Waits:
        return Waits()

    def schedule(self, run: Run, name: str, timeout: Any,
                 on_created: Callable[[str], Any] | None,
                 model: Any = None) -> asyncio.Future[Any]:
        check_hook_name(name)
        run.checkpoint()
        payload = {"timeout_s": None if timeout is None else parse_duration(timeout),
                   "shielded": shielded()}
        waits = self.state(run)
        if on_created is not None:
            waits.callbacks[run.next_call_id] = on_created
        if model is not None:
            waits.models[run.next_call_id] = model
        return run.new_command(self.kind, name, payload)

    def observe(self, run: Run, etype: str, data: dict[str, Any]) -> None:
        call_id = data.get("call_id")
        if isinstance(call_id, int):
            rejected = self.state(run).rejected
            rejected[call_id] = rejected.get(call_id, 0) + 1

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
        model = self.state(run).models.get(cmd.call_id)
        run.ports.hooks.record(token, run.run_id, cmd.call_id, cmd.name, expires, is_shielded,
                               None if model is None else schema_of(model), model is not None)
        if expires is not None:
            run.effect(StartTimer(
                timer_id=ids.wait_timer_id(run.run_id, cmd.call_id), due_ms=expires,
                actor_id=run.run_id, kind="timer-fired",
                payload=encode(TimerFired("hook-timeout", cmd.call_id))))
        callback = self.state(run).callbacks.pop(cmd.call_id, None)
        if callback is not None:
            run.after_commit.append(lambda: callback(token))

    def messages(self) -> dict[str, Handler]:
        return {"hook-received": self.received}

    def timers(self) -> dict[str, Handler]:
        return {"hook-timeout": self.timed_out}

    def received(self, run: Run, delivery: HookDelivery) -> None:
        call = self._waiting(run, delivery)
        if call is not None:
            self._take(run, call, delivery, self.state(run).rejected.get(call.call_id, 0))

    def _waiting(self, run: Run, delivery: HookDelivery) -> CallRecord | None:
        """The open call this delivery is for; None for a token no waiting hook of this
        run holds (a late or repeated message: dropped)."""
        call = run.history.calls.get(delivery.call_id)
        if call is None or call.kind != self.kind or call.state != "pending" \
                or call.data.get("token") != delivery.token:
            return None
        return call

    def _take(self, run: Run, call: CallRecord, delivery: HookDelivery, rejected: int,
              reopen_to: str = "pending") -> bool:
        """Record the delivery's payload, or refuse it when the hook's model does: True
        when recorded. A refused claim (round ``rejected``) is given back in the store,
        leaving the hook ``reopen_to``."""
        problems = self._problems(run, call, delivery.payload)
        if problems:
            run.emit(ev.HOOK_PAYLOAD_REJECTED, {"call_id": call.call_id, "name": call.name,
                                                "errors": problems})
            run.ports.hooks.reopen(delivery.token, rejected, reopen_to)
            return False
        data = {"call_id": call.call_id, "name": call.name, "payload": delivery.payload}
        run.emit(ev.HOOK_RECEIVED, data)
        run.resolve(ev.HOOK_RECEIVED, data)
        return True

    def _problems(self, run: Run, call: CallRecord, payload: Any) -> list[dict[str, Any]]:
        """What the typed hook's model says is wrong with ``payload`` ([] when it fits,
        or the hook is untyped). The model reads the payload as the code will get it."""
        model = self.state(run).models.get(call.call_id)
        if model is None:
            return []
        try:
            value = serialization.decode_checked(payload, "hook payload")
        except serialization.SerializationError:
            return []  # not the model's to judge: the code gets this error (``outcome``)
        return model_problems(model, value)[1]

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
        message, when it comes, finds the hook resolved and is dropped. A claimed payload
        the model refuses is rejected, and the hook moves to ``to`` all the same."""
        move = run.ports.hooks.settle(call.data["token"], to)
        if move.moved or move.status != "received":
            return True
        if move.payload is None:
            return False
        delivery = HookDelivery(call.data["token"], call.call_id,
                                serialization.parse_json(move.payload, "hook payload"))
        return not self._take(run, call, delivery, move.rejected, reopen_to=to)

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
