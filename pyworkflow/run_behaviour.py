"""A workflow run as an actor: the behaviour the actor runtime drives.

Messages (``start``, ``step-completed``, ``step-failed``, ``timer-fired``, …) become
journal events; between them the run's coroutine advances (``Replayer``). The run's
record (status, result, error, waiting-on) is projected in the same commit.
"""

from __future__ import annotations

import json
from typing import Any

from actors import Behaviour, Event, Message, MessageRejected, TurnContext
from actors.keys import ActorKeys

from ._replayer import Replayer
from .ids import RUN_ID_PREFIX
from .step_leases import step_lease_key

__all__ = ["RUN_ID_PREFIX", "RunBehaviour"]


class RunBehaviour(Behaviour[Replayer]):
    def __init__(self, queues: dict[str, str], prefix: str, redis: Any) -> None:
        self.queues = queues
        self.prefix = prefix
        self._redis = redis

    def initial_state(self, actor_id: str) -> Replayer:
        state = Replayer(actor_id, self.queues)
        state.step_lease_key = step_lease_key(self.prefix)
        masked = self._redis.hget(ActorKeys(self.prefix, actor_id).record, "masked")
        if masked:
            state.masked = set(json.loads(masked))
        return state

    def on_recovered(self, state: Replayer, ctx: TurnContext, crashes: int) -> None:
        state.begin_live(ctx)
        state.on_recovered(crashes)
        state.end_live()

    def apply(self, state: Replayer, event: Event) -> None:
        state.apply(event)

    def handle(self, state: Replayer, message: Message, ctx: TurnContext) -> None:
        if state.ctx is None:
            state.begin_live(ctx)
        handler = _HANDLERS.get(message.kind)
        if handler is None:
            raise MessageRejected(f"a workflow run does not accept {message.kind!r} messages")
        if state.history.finished and message.kind not in ("start", "retry"):
            return  # a late report for a finished run: nothing left to decide
        handler(state, message.payload)

    def settle(self, state: Replayer, ctx: TurnContext) -> None:
        if state.ctx is None:  # a batch of only duplicates: still flush and project
            state.begin_live(ctx)
        state.end_live()

    def after_commit(self, state: Replayer) -> None:
        state.run_after_commit()


def _start(state: Replayer, payload: dict[str, Any]) -> None:
    if "workflow" not in payload:
        raise MessageRejected("start message without a workflow name")
    state.start(payload)


_HANDLERS = {
    "start": _start,
    "step-completed": Replayer.step_finished,
    "step-failed": Replayer.step_finished,
    "timer-fired": Replayer.timer_fired,
    "cancel": Replayer.cancel,
    "hook-received": Replayer.hook_received,
    "child-completed": Replayer.child_finished,
    "retry": Replayer.retry,
    "step-undelivered": Replayer.step_undelivered,
    "wake": lambda state, payload: None,  # begin_live (above) did the work
}
