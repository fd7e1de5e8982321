"""Durable waits inside the replay engine: sleeps and hooks, and the timers behind them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors import StartTimer

from . import serialization
from ._run_core import RunCore
from .durations import deadline_ms, parse_duration
from .errors import HookExpiredError

if TYPE_CHECKING:
    import asyncio

    from ._replayer import Command


class WaitsMixin(RunCore):
    # -- sleep -----------------------------------------------------------------------
    def schedule_sleep(self, duration: Any) -> asyncio.Future[Any]:
        self.checkpoint()
        if isinstance(duration, dt.datetime):
            payload: dict[str, Any] = {"until": duration, "duration_s": None}
        else:
            payload = {"duration_s": parse_duration(duration)}
        payload["shielded"] = self.shielded()
        return self.new_command("sleep", "sleep", payload)

    def emit_sleep(self, cmd: Command) -> None:
        assert self.ctx is not None
        wake = deadline_ms(cmd.payload["until"] if cmd.payload.get("until") is not None
                           else cmd.payload["duration_s"], self.now_ms)
        self.emit("sleep_started", {"call_id": cmd.call_id, "wake_at_ms": wake,
                                    "duration_s": cmd.payload.get("duration_s"),
                                    "shielded": cmd.payload.get("shielded", False)})
        self.ctx.effect(StartTimer(
            timer_id=self.wait_timer_id(cmd.call_id), due_ms=wake, actor_id=self.run_id,
            kind="timer-fired", payload={"purpose": "sleep", "call_id": cmd.call_id}))

    def wait_timer_id(self, call_id: int) -> str:
        return f"{self.run_id}:wait:{call_id}"

    # -- hooks -------------------------------------------------------------------------
    def schedule_hook(self, name: str, timeout: Any,
                      on_created: Callable[[str], Any] | None) -> asyncio.Future[Any]:
        self.checkpoint()
        payload = {"timeout_s": None if timeout is None else parse_duration(timeout),
                   "shielded": self.shielded()}
        if on_created is not None:
            self.hook_callbacks[self.next_call_id] = on_created
        return self.new_command("hook", name, payload)

    def emit_hook(self, cmd: Command) -> None:
        from .hooks import new_token, record_hook

        assert self.ctx is not None
        token = new_token()
        timeout_s = cmd.payload.get("timeout_s")
        expires = None if timeout_s is None else deadline_ms(timeout_s, self.now_ms)
        self.emit("hook_created", {"call_id": cmd.call_id, "name": cmd.name, "token": token,
                                   "expires_at_ms": expires, "timeout_s": timeout_s,
                                   "shielded": cmd.payload.get("shielded", False)})
        # Written before the commit so the token resolves as soon as anyone has it; a
        # turn that fails to commit leaves a token no run is waiting on (refused later).
        record_hook(token, self.run_id, cmd.call_id, cmd.name, expires,
                    shielded=bool(cmd.payload.get("shielded")))
        if expires is not None:
            self.ctx.effect(StartTimer(
                timer_id=self.wait_timer_id(cmd.call_id), due_ms=expires, actor_id=self.run_id,
                kind="timer-fired", payload={"purpose": "hook-timeout", "call_id": cmd.call_id}))
        callback = self.hook_callbacks.pop(cmd.call_id, None)
        if callback is not None:
            self.after_commit.append(lambda: callback(token))

    def settle_hook(self, call: Any, to: str) -> bool:
        """Move a waiting hook's record to ``to`` (``expired``, ``cancelled``); False when a
        delivery claimed it first. Its payload is then recorded now, from the record (the
        message may still be on its way, or its sender may have died before sending it);
        the message, when it comes, finds the hook resolved and is dropped."""
        from .hook_records import transition
        from .hooks import stored_payload

        move = transition(call.data["token"], to)
        if move.moved or move.status != "received":
            return True
        if move.payload is not None:
            self.hook_received({"token": call.data["token"], "call_id": call.call_id,
                                "payload": stored_payload(move.payload)})
        return False

    def hook_received(self, payload: dict[str, Any]) -> None:
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.kind != "hook" or call.state != "pending" \
                or call.data.get("token") != payload.get("token"):
            return  # a token no waiting hook of this run holds
        data = {"call_id": call.call_id, "name": call.name, "payload": payload.get("payload")}
        self.emit("hook_received", data)
        self.resolve("hook_received", data)

    # -- timers ------------------------------------------------------------------------
    def timer_fired(self, payload: dict[str, Any]) -> None:
        purpose = payload.get("purpose")
        if purpose == "retry":
            self.retry_due(payload)
            return
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.state != "pending":
            return
        if purpose == "sleep" and call.kind == "sleep":
            woke: dict[str, Any] = {"call_id": call.call_id}
            self.emit("sleep_completed", woke)
            self.resolve("sleep_completed", woke)
        elif purpose == "hook-timeout" and call.kind == "hook":
            if not self.settle_hook(call, "expired"):
                return  # a delivery won the race: its payload is recorded instead
            expired = {"call_id": call.call_id, "name": call.name}
            self.emit("hook_expired", expired)
            self.resolve("hook_expired", expired)

    def wait_outcome(self, etype: str, data: dict[str, Any]) -> tuple[str, Any] | None:
        if etype == "sleep_completed":
            return "value", None
        if etype == "hook_received":
            try:  # the limits the door applied: an accepted payload always decodes
                return "value", serialization.decode_checked(data.get("payload"),
                                                             "hook payload")
            except serialization.SerializationError as exc:  # recorded before the limits
                return "error", exc
        if etype == "hook_expired":
            from .hooks import hook_error

            token = self.history.calls[data["call_id"]].data.get("token", "?")
            return "error", hook_error(HookExpiredError, token)
        return None
