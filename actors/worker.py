"""Binding the runtime to a Celery app: the turn task and the maintenance loop.

Turns are Celery tasks with late acks, so a turn task whose worker dies is not
lost by the broker; but nothing *waits* for that redelivery: the lease expires in
seconds and recovery starts the actor elsewhere. A redelivered stale turn finds
its token no longer owns the actor and does nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from celery import Celery, current_task, signals

from . import log as _log
from . import redis_transport
from .held_tasks import HeldTasks
from .maintenance import Maintenance
from .system import ActorSystem
from .task_names import TURN_TASK_NAME, WAKE_TASK_NAME
from .turn_begin import HandedOverTurn, QueuedTurn, TimerTurn

_maintenance: Maintenance | None = None

logger = _log.get_logger("actors.worker")

#: How often a worker publishes the tasks it holds and looks for a dead one's.
HELD_TASKS_EVERY_S = 1.0


def _turn_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, str, Any]:
    """``(actor_id, token, stored)`` of a turn task, or ``TypeError`` saying what is off."""
    bound = inspect.signature(_turn_shape).bind(*args, **kwargs)
    actor_id, token = bound.arguments["actor_id"], bound.arguments["token"]
    if not isinstance(actor_id, str) or not actor_id or not isinstance(token, str):
        raise TypeError(f"actor_id and token are strings, not {actor_id!r}, {token!r}")
    return actor_id, token, bound.arguments.get("stored")


def _turn_shape(actor_id: str, token: str, stored: Any = None) -> None:
    """The turn task's signature, for :func:`_turn_arguments` to bind against."""


def install(app: Celery, system: ActorSystem, turn_queue: str | None = None,
            task_queue_prefix: str | None = None) -> None:
    """Register the turn task on ``app`` and run maintenance in every worker. On a Redis
    broker, Celery uses our Redis transport, which survives a Redis restart (see
    ``actors.redis_transport``). ``task_queue_prefix``: what the names of the
    deployment's task queues start with; a dead worker's messages on those are put back
    within seconds (``actors.held_tasks``)."""
    path = redis_transport.transport_path(str(app.conf.broker_url or ""))
    if path is not None and not app.conf.broker_transport:
        app.conf.broker_transport = path

    batching = threading.local()

    def enqueue(name: str, args: list[Any], kwargs: dict[str, Any], task_id: str | None,
                queue: str | None, priority: int | None = None) -> None:
        # argsrepr/kwargsrepr given: Celery skips building reprs of the arguments (its
        # saferepr) for every task it sends, which costs more than the send itself.
        options: dict[str, Any] = {"argsrepr": "", "kwargsrepr": ""}
        if queue:
            options["queue"] = queue
        if priority is not None:
            options["priority"] = priority
        producer = getattr(batching, "producer", None)
        if producer is not None:
            options["producer"] = producer
        app.send_task(name, args=args, kwargs=kwargs, task_id=task_id, **options)

    @contextlib.contextmanager
    def batch() -> Iterator[None]:
        """Sends made inside go out together when it ends (Kombu's publish batch: one
        pipeline on a Redis broker; one by one where the transport cannot batch)."""
        if getattr(batching, "producer", None) is not None:  # already batching
            yield
            return
        with app.producer_or_acquire() as producer:
            grouped = getattr(producer, "batch", None)  # Kombu 5.7 and later
            with grouped() if grouped is not None else contextlib.nullcontext():
                batching.producer = producer
                try:
                    yield
                finally:
                    batching.producer = None

    system.set_enqueue(enqueue, batch)
    system.turn_queue = turn_queue

    def turn(*args: Any, **kwargs: Any) -> None:
        try:  # a well-formed task message with the wrong arguments is kept, with why
            actor_id, token, stored = _turn_arguments(args, kwargs)
        except TypeError as exc:
            info = getattr(current_task.request, "delivery_info", None) or {}
            system.dead_letters.add(f"a turn task's arguments do not fit: {exc}",
                                    repr((args, kwargs)),
                                    queue=info.get("routing_key") or TURN_TASK_NAME)
            return
        with system.in_place.running():  # a task the turn sends may run right here
            if stored is not None:  # a message handed over (``ActorSystem.deliver_held``)
                HandedOverTurn(actor_id, token, stored).run(system)
            else:
                QueuedTurn(actor_id, token).run(system)

    def wake(task: Any, turns: Any) -> None:
        """Turns of actors woken by due timers (``ActorSystem.deliver_timers``), one
        after the other. One that fails is left to recovery (its lease runs out, or
        its timer fires again) and the others still run. A task the broker delivers
        again (its worker died) decides no turn before beginning it (``fast.early_turn``)."""
        early = not (task.request.delivery_info or {}).get("redelivered")
        for item in turns if isinstance(turns, list) else [turns]:
            if not (isinstance(item, list) and len(item) == 4):
                system.dead_letters.add("a wake task's turn is not [actor, token, message, "
                                        "timer]", repr(item), queue=WAKE_TASK_NAME)
                continue
            actor_id, token, held, timer_id = item
            try:
                with system.in_place.running():
                    TimerTurn(str(actor_id), str(token), held, timer_id,
                              early).run(system)
            except Exception as exc:
                logger.warning("a timer turn failed; its actor is left to recovery",
                               actor_id=str(actor_id), error=f"{type(exc).__name__}: {exc}")

    # shared=False: these closures belong to this app's actor system. Celery shares a
    # task with every app finalized later by default, and an app finalized after another
    # one registered the same names (a second runtime in one process) could take that
    # one's closures, bound to another Redis.
    app.task(name=TURN_TASK_NAME, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, shared=False)(turn)
    app.task(name=WAKE_TASK_NAME, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, shared=False, bind=True)(wake)

    def _start(sender: Any = None, **_: Any) -> None:
        global _maintenance
        # worker_ready's sender is the worker's consumer; its controller knows the pool
        concurrency = getattr(getattr(sender, "controller", None), "concurrency", None)
        if isinstance(concurrency, int) and concurrency > 0:
            system.pool_size = concurrency
        if _maintenance is None:
            if task_queue_prefix is not None:
                _watch_held_tasks(app, system, task_queue_prefix)
            _maintenance = Maintenance(system)
            _maintenance.start()

    def _stop(**_: Any) -> None:
        global _maintenance
        if _maintenance is not None:
            _maintenance.stop()
            _maintenance = None

    signals.worker_ready.connect(_start, weak=False)
    signals.worker_shutdown.connect(_stop, weak=False)


def _watch_held_tasks(app: Celery, system: ActorSystem, queue_prefix: str) -> None:
    """This worker publishes what it holds and puts back what dead workers held
    (``actors.held_tasks``), about once a second, on a thread of its own and over a
    broker connection of its own: a broker that hangs (a partition) must not hold up
    the maintenance loop's timers and recovery."""
    connection: list[Any] = []

    def channel() -> Any:
        if not connection:
            connection.append(app.connection_for_write())
        return connection[0].default_channel

    held = HeldTasks(system.redis, system.keys.held_tasks,
                     f"{socket.gethostname()}:{os.getpid()}", queue_prefix, channel)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(HELD_TASKS_EVERY_S):
            try:
                held.publish()
                held.put_back()
            except Exception as exc:  # the broker or Redis away: a fresh connection next
                for conn in connection:
                    with contextlib.suppress(Exception):
                        conn.release()
                connection.clear()
                logger.warning("the held-tasks pass failed; retrying",
                               error=f"{type(exc).__name__}: {exc}")

    with contextlib.suppress(Exception):  # at once: what it fetches is known as its own
        held.publish()
    threading.Thread(target=loop, name="actors-held-tasks", daemon=True).start()

    def _stop(**_: Any) -> None:
        stop.set()
        held.stop()

    signals.worker_shutdown.connect(_stop, weak=False)
