"""Binding the runtime to a Celery app: the turn task and the maintenance loop.

Turns are Celery tasks with late acks, so a turn task whose worker dies is not
lost by the broker; but nothing *waits* for that redelivery: the lease expires in
seconds and recovery starts the actor elsewhere. A redelivered stale turn finds
its token no longer owns the actor and does nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from . import redis_transport
from .maintenance import Maintenance
from .system import TURN_TASK_NAME, ActorSystem
from .turn import run_held_timer, run_turn

_maintenance: Maintenance | None = None


def install(app: Celery, system: ActorSystem, turn_queue: str | None = None) -> None:
    """Register the turn task on ``app`` and run maintenance in every worker. On a Redis
    broker, Celery uses our Redis transport, which survives a Redis restart (see
    ``actors.redis_transport``)."""
    path = redis_transport.transport_path(str(app.conf.broker_url or ""))
    if path is not None and not app.conf.broker_transport:
        app.conf.broker_transport = path

    def enqueue(name: str, args: list[Any], kwargs: dict[str, Any], task_id: str | None,
                queue: str | None) -> None:
        # argsrepr/kwargsrepr given: Celery skips building reprs of the arguments (its
        # saferepr) for every task it sends, which costs more than the send itself.
        options: dict[str, Any] = {"argsrepr": "", "kwargsrepr": ""}
        if queue:
            options["queue"] = queue
        app.send_task(name, args=args, kwargs=kwargs, task_id=task_id, **options)

    system.set_enqueue(enqueue)
    system.turn_queue = turn_queue

    def turn(actor_id: str, token: str, held: Any = None, timer: Any = None) -> None:
        with system.in_place.running():  # a task the turn sends may run right here
            if held is None and timer is None:
                run_turn(system, actor_id, token)
            else:  # a due timer's message, in hand (``ActorSystem.deliver_timers``)
                run_held_timer(system, actor_id, token, held, timer)

    app.task(name=TURN_TASK_NAME, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)(turn)

    def _start(**_: Any) -> None:
        global _maintenance
        if _maintenance is None:
            _maintenance = Maintenance(system)
            _maintenance.start()

    def _stop(**_: Any) -> None:
        global _maintenance
        if _maintenance is not None:
            _maintenance.stop()
            _maintenance = None

    signals.worker_ready.connect(_start, weak=False)
    signals.worker_shutdown.connect(_stop, weak=False)
