"""Where a turn task goes: the actor system's ``router`` hook for this deployment.

A run's route travels in its id (``ids.run_route``; why: ``pyworkflow.routing``), so
deciding where its turn goes is a parse of a short string, on every send of a turn
task (a start, a step's report, a timer, a signal, recovery, a chained turn) and
without a Redis read. A run's first turn (the message that activates it is its
``start``) goes in the start band, behind every turn and step of runs under way
(``routing.broker_priority``). Schedules and other actors take the default route.
"""

from __future__ import annotations

from ..ids import RUN_ID_PREFIX, run_route
from ..routing import DEFAULT_PRIORITY, DEFAULT_QUEUE, broker_priority, celery_queues

__all__ = ["TurnRouter"]

_START = "start"


class TurnRouter:
    """``(actor_id, kind) -> (Celery queue, broker priority)`` for one key prefix."""

    #: The kinds of message whose turn goes in the start band: a run's first turn, which
    #: may wait there as long as work in progress keeps the workers busy (the actor
    #: system gives such a turn its long first-turn lease).
    FIRST_KINDS = frozenset({_START})

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._turns: dict[str, str] = {}

    def turns_queue(self, queue: str) -> str:
        name = self._turns.get(queue)
        if name is None:
            name = self._turns[queue] = celery_queues(self.prefix, queue)["turns"]
        return name

    def __call__(self, actor_id: str, kind: str | None) -> tuple[str | None, int | None]:
        if actor_id.startswith(RUN_ID_PREFIX):
            route = run_route(actor_id)
            queue, priority = route.queue, route.priority
        else:
            queue, priority = DEFAULT_QUEUE, DEFAULT_PRIORITY
        return self.turns_queue(queue), broker_priority(priority, starting=kind == _START)
