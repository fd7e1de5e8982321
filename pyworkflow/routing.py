"""Routing: which queue a run's turns and a step's attempts go to, and in what order.

A *queue* is a name a user gives (``@workflow(queue="billing")``, ``@step(queue="gpu")``,
``start(..., queue=)``, ``pyworkflow worker run --queues billing,gpu``); it stands for
two Celery queues of this deployment, one for turns and one for steps (see
:func:`celery_queues`), so an operator can still give turns and steps different workers.
No queue is the ``default`` queue, whose Celery names are the ones every deployment
had before queues existed.

A *priority* is 0..9, higher first (``start(..., priority=)``, ``@workflow(priority=)``;
default :data:`DEFAULT_PRIORITY`). It orders a run's turns and its steps within their
queues (and across the queues one worker reads). Within one priority, work in progress
goes before new work: a run's first turn (its start) goes behind the turns and steps
of runs of its priority already running, so a burst of starts is admitted at the pace
the workers drain and never delays the wake-ups, step results and signals of runs
under way (issue 26, item 7); a start of a higher priority still goes before the work
of lower ones. That makes twenty broker levels: :func:`broker_priority` is the one
mapping. Priorities need the Redis broker (Kombu keeps one list per level there); on
another broker the tasks carry the priority and the broker may ignore it.

Why the route travels in the run id (``ids.new_run_id``): every sender of a turn (a
client's start, a step's report, a due timer, a signal, recovery, a turn chaining the
next) knows the run id and nothing else; reading the route from Redis would cost a
round trip on each of those paths. A run's route is fixed at its start, as a Temporal
run's task queue is; a successor (continue-as-new) takes its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BROKER_LEVELS", "DEFAULT_PRIORITY", "DEFAULT_QUEUE", "QUEUE_NAME", "Route",
    "broker_priority", "celery_queues", "check_priority", "check_queue", "direct_queue",
    "describe_need_wait", "need_queue", "need_step", "need_workflow",
]

#: The queue of everything that names none.
DEFAULT_QUEUE = "default"
#: What a queue name may be: it goes into Celery queue names and run ids.
QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
DEFAULT_PRIORITY = 5
MAX_PRIORITY = 9
#: Broker priority levels (Kombu's Redis transport: one list per level, level 0 read
#: first): two per priority, work in progress then starts.
BROKER_LEVELS = 20


def check_queue(queue: object, what: str = "queue") -> str:
    """``queue`` if it is a valid queue name, else ``ValueError`` saying what is."""
    if not isinstance(queue, str) or not QUEUE_NAME.fullmatch(queue):
        raise ValueError(f"{what}={queue!r} is not a queue name: 1 to 40 letters, digits, "
                         "'_' or '-', starting with a letter or a digit")
    return queue


def check_priority(priority: object, what: str = "priority") -> int:
    """``priority`` if it is an int in 0..9, else ``ValueError`` saying what is."""
    if isinstance(priority, bool) or not isinstance(priority, int) \
            or not 0 <= priority <= MAX_PRIORITY:
        raise ValueError(f"{what}={priority!r} is not a priority: an int from 0 (last) "
                         f"to {MAX_PRIORITY} (first); the default is {DEFAULT_PRIORITY}")
    return priority


@dataclass(frozen=True, slots=True)
class Route:
    """Where a run's work goes: its queue and its priority."""

    queue: str = DEFAULT_QUEUE
    priority: int = DEFAULT_PRIORITY

    @property
    def is_default(self) -> bool:
        return self.queue == DEFAULT_QUEUE and self.priority == DEFAULT_PRIORITY


def broker_priority(priority: int, starting: bool = False) -> int:
    """The broker level of a task (Kombu on Redis reads level 0 first): two levels per
    priority, highest first; of the two, a run's turns and steps take the first and its
    start turn (``starting``) the second."""
    return (MAX_PRIORITY - priority) * 2 + (1 if starting else 0)


def celery_queues(prefix: str, queue: str) -> dict[str, str]:
    """The Celery queues of one pyworkflow queue: ``turns`` and ``steps``. The default
    queue keeps the names it always had (``<prefix>.turns``, ``<prefix>.steps``)."""
    if queue == DEFAULT_QUEUE:
        return {"turns": f"{prefix}.turns", "steps": f"{prefix}.steps"}
    return {"turns": f"{prefix}.q.{queue}.turns", "steps": f"{prefix}.q.{queue}.steps"}


def direct_queue(prefix: str, node: str) -> str:
    """The Celery queue only one worker reads (its node name): where work handed back
    for a worker that has its code is sent (``pyworkflow.worker.hand_back``)."""
    return f"{prefix}.direct.{node}"


# -- what a worker must have to run a piece of work (advertised, ``worker.adverts``) ------
def need_workflow(name: str) -> str:
    """What a worker needs to run turns of a run of workflow ``name``."""
    return f"workflow:{name}"


def need_step(name: str) -> str:
    """What a worker needs to run attempts of step ``name``."""
    return f"step:{name}"


def need_queue(name: str) -> str:
    """What a worker needs to take work of queue ``name``: to read it."""
    return f"queue:{name}"


def describe_need_wait(need: str) -> str:
    """What a run's record says while its work waits for a worker (``runs status``)."""
    kind, _, name = need.partition(":")
    if kind == "queue":
        return f"waiting for a worker that reads queue {name!r} (no live worker does)"
    return f"waiting for a worker that has {kind} {name!r} (no live worker has it)"
