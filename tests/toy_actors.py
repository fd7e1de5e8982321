"""Toy actors that prove the runtime is generic: a bank account and an alarm clock.

Run them with ``pyworkflow --module tests.toy_actors worker run``. They know
nothing of workflows; they only use ``actors``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ClusterDownError

from actors import Behaviour, Event, Message, MessageRejected, StartTimer, TurnContext
from pyworkflow.worker import _runtime

_RELEASE_GUARD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class Account:
    balance: int = 0
    applied: set[str] = field(default_factory=set)


def _redis() -> Any:
    return _runtime.runtime().redis


def _prefix() -> str:
    return _runtime.runtime().settings.key_prefix


class AccountBehaviour(Behaviour[Account]):
    """Deposits and withdrawals; also records whether two turns ever overlapped."""

    def initial_state(self, actor_id: str) -> Account:
        return Account()

    def apply(self, state: Account, event: Event) -> None:
        if event.type in ("deposited", "withdrew"):
            sign = 1 if event.type == "deposited" else -1
            state.balance += sign * int(event.data["amount"])

    def handle(self, state: Account, message: Message, ctx: TurnContext) -> None:
        if message.kind == "deposit":
            amount = message.payload.get("amount")
            if not isinstance(amount, int):
                raise MessageRejected("deposit needs an integer amount")
            state.balance += amount
            ctx.emit("deposited", {"amount": amount, "ref": message.payload.get("ref")})
        elif message.kind == "withdraw":
            amount = int(message.payload["amount"])
            if amount > state.balance:
                ctx.emit("refused", {"amount": amount, "balance": state.balance})
            else:
                state.balance -= amount
                ctx.emit("withdrew", {"amount": amount})
        elif message.kind == "slow":
            # Lets a test kill the worker in the middle of a turn.
            _redis().set(f"{_prefix()}:toy:{message.actor_id}:slow-pid", os.getpid())
            time.sleep(float(message.payload.get("seconds", 3)))
            ctx.emit("slept", {"pid": os.getpid()})
        elif message.kind == "flaky":
            # Fails as a down Redis Cluster would, the first ``times`` times it is handled.
            seen = _redis().incr(f"{_prefix()}:toy:{message.actor_id}:flaky")
            if seen <= int(message.payload.get("times", 1)):
                raise ClusterDownError("The cluster is down")
            ctx.emit("flaky_done", {"attempts": seen})
        else:
            raise MessageRejected(f"unknown kind {message.kind!r}")

    # Overlap detector: a guard key held for the duration of each batch.
    def _guard(self, actor_id: str) -> str:
        return f"{_prefix()}:toy:{actor_id}:in-turn"

    def on_batch_start(self, actor_id: str, turn: int, token: str) -> None:
        client = _redis()
        if not client.set(self._guard(actor_id), token, nx=True, px=4000):
            holder = client.get(self._guard(actor_id))
            if holder is not None and holder.decode() != token:
                client.incr(f"{_prefix()}:toy:{actor_id}:overlaps")

    def on_batch_end(self, actor_id: str, turn: int, token: str) -> None:
        _redis().eval(_RELEASE_GUARD, 1, self._guard(actor_id), token)


@dataclass
class Alarm:
    armed: dict[str, int] = field(default_factory=dict)


class AlarmBehaviour(Behaviour[Alarm]):
    """Arms durable timers and records when they ring."""

    def initial_state(self, actor_id: str) -> Alarm:
        return Alarm()

    def apply(self, state: Alarm, event: Event) -> None:
        if event.type == "armed":
            state.armed[event.data["name"]] = event.data["due_ms"]

    def handle(self, state: Alarm, message: Message, ctx: TurnContext) -> None:
        if message.kind == "arm":
            name = message.payload["name"]
            due_ms = int(time.time() * 1000) + int(message.payload["delay_ms"])
            state.armed[name] = due_ms
            ctx.emit("armed", {"name": name, "due_ms": due_ms})
            ctx.effect(StartTimer(timer_id=f"{message.actor_id}:{name}", due_ms=due_ms,
                                  actor_id=message.actor_id, kind="ring",
                                  payload={"name": name}))
        elif message.kind == "ring":
            name = message.payload["name"]
            now_ms = int(time.time() * 1000)
            ctx.emit("rang", {"name": name, "at_ms": now_ms, "due_ms": state.armed.get(name)})
        else:
            raise MessageRejected(f"unknown kind {message.kind!r}")


def _install(rt: _runtime.Runtime) -> None:
    rt.system.route("account-", AccountBehaviour())
    rt.system.route("alarm-", AlarmBehaviour())


_runtime.on_runtime(_install)
