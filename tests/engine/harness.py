"""A harness that plays the actor runtime's part for the engine, in memory.

It hands messages to the run behaviour, collects the events and effects of each
turn, and can rebuild a run from its journal the way a worker without the run in
its cache would. The engine's ports are the in-memory ones: no Redis, no workers.
"""

from __future__ import annotations

import json
from typing import Any

from actors import EnqueueTask, Event, Message, TurnContext
from pyworkflow.engine import Ports, RunBehaviour, memory_ports

QUEUES = {"turns": "t", "steps": "s"}


class Harness:
    def __init__(self, run_id: str = "run-test", ports: Ports | None = None) -> None:
        self.run_id = run_id
        self.ports = ports or memory_ports(queues=QUEUES)
        self.behaviour = RunBehaviour(self.ports)
        self.state = self.behaviour.initial_state(run_id)
        self.journal: list[Event] = []
        self.record: dict[str, str] = {}

    def send(self, kind: str, **payload: Any) -> TurnContext:
        ctx = TurnContext(actor_id=self.run_id, turn=1, seq=len(self.journal))
        ctx.current_msg_id = f"m{len(self.journal)}"
        self.behaviour.handle(self.state, Message(kind, self.run_id, payload), ctx)
        self.behaviour.settle(self.state, ctx)
        for e in ctx.events:  # as the journal would store and return them
            data = json.loads(json.dumps(e.data))
            self.journal.append(Event(len(self.journal) + 1, e.type, data, e.ts, e.msg_id))
        self.record.update(ctx.record)
        return ctx

    def steps(self, ctx: TurnContext) -> list[dict[str, Any]]:
        return [e.kwargs for e in ctx.effects if isinstance(e, EnqueueTask)]

    def complete(self, task: dict[str, Any], result: Any) -> TurnContext:
        return self.send("step-completed", call_id=task["call_id"], attempt=task["attempt"],
                         ok=True, result=result)

    def types(self) -> list[str]:
        return [e.type for e in self.journal]

    def rebuilt(self) -> Harness:
        """A fresh harness that replays this journal (a cache miss)."""
        other = Harness(self.run_id, self.ports)
        for event in self.journal:
            other.behaviour.apply(other.state, event)
        other.state.catch_up()
        other.journal = list(self.journal)
        return other
