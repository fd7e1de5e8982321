"""A toy actor for lease tests: trivial ticks, and a handler that keeps the CPU busy.

Run with ``pyworkflow --module tests.busy_actors worker run``. ``spin`` runs pure
Python for the given seconds in the turn itself (longer than the 5 s lease), so the
lease keeper thread must get the GIL to renew the lease while the turn computes.
``BUSY_LEASE_MS`` in the worker's environment shortens its turns' lease, so that its
lease keeper renews more often and a test meets a renewal race sooner.
"""

from __future__ import annotations

import os
import time

from actors import Behaviour, Event, Message, MessageRejected, TurnContext
from pyworkflow.worker import _runtime

PREFIX = "busy-"


def spin(seconds: float) -> int:
    """Busy-loop in pure Python (it holds the GIL between the interpreter's switches)."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n = (n * 31 + 7) % 1_000_003
    return n


class BusyBehaviour(Behaviour[dict[str, int]]):
    def initial_state(self, actor_id: str) -> dict[str, int]:
        return {"ticks": 0}

    def apply(self, state: dict[str, int], event: Event) -> None:
        if event.type == "ticked":
            state["ticks"] += 1

    def handle(self, state: dict[str, int], message: Message, ctx: TurnContext) -> None:
        if message.kind == "tick":
            state["ticks"] += 1
            ctx.emit("ticked", {"n": message.payload.get("n")})
        elif message.kind == "spin":
            ctx.emit("spun", {"value": spin(float(message.payload["seconds"]))})
        else:
            raise MessageRejected(f"unknown kind {message.kind!r}")


def _install(rt: _runtime.Runtime) -> None:
    rt.system.route(PREFIX, BusyBehaviour())
    lease_ms = os.environ.get("BUSY_LEASE_MS")
    if lease_ms:
        rt.system.lease_ms = int(lease_ms)


_runtime.on_runtime(_install)
