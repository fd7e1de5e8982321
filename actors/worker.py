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
from .timer_runner import MAIN_LOOP_GRACE_MS, RunnerPulse, TimerRunner, run_wake_turns
from .turn_begin import HandedOverTurn, QueuedTurn

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
        """Turns of actors woken by due timers (``ActorSystem.deliver_timers``); see
        ``timer_runner.run_wake_turns``. A task the broker delivers again (its worker
        died) decides no turn before beginning it (``fast.early_turn``)."""
        early = not (task.request.delivery_info or {}).get("redelivered")
        run_wake_turns(system, turns, early)

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
            # a prefork pool's processes run due timers themselves (``_start_runner``)
            prefork = _is_prefork(sender)
            _maintenance = Maintenance(system, timer_grace_ms=MAIN_LOOP_GRACE_MS if prefork
                                       else 0, runners_alive=pulse.alive if prefork else None)
            _maintenance.start()

    def _stop(**_: Any) -> None:
        global _maintenance
        if _maintenance is not None:
            _maintenance.stop()
            _maintenance = None

    pulse = RunnerPulse()  # made here, in the main process, before the pool's forks

    def _start_runner(**_: Any) -> None:
        """In each prefork pool process: run due timers here while no task runs."""
        runner = TimerRunner(system, lambda queue: _consumes(app, queue), pulse)
        signals.task_prerun.connect(lambda **_: runner.task_started(), weak=False)
        signals.task_postrun.connect(lambda **_: runner.task_ended(), weak=False)
        signals.worker_process_shutdown.connect(lambda **_: runner.stop(), weak=False)
        system.timers.on_schedule = runner.poke
        runner.start()

    signals.worker_ready.connect(_start, weak=False)
    signals.worker_shutdown.connect(_stop, weak=False)
    signals.worker_process_init.connect(_start_runner, weak=False)


def _is_prefork(consumer: Any) -> bool:
    """Whether the worker whose consumer this is runs a prefork pool (whose processes
    send ``worker_process_init`` and so run a ``TimerRunner``)."""
    pool = getattr(getattr(consumer, "controller", None), "pool", None)
    return type(pool).__module__ == "celery.concurrency.prefork"


def _consumes(app: Celery, queue: str | None) -> bool:
    """Whether this worker reads ``queue`` (all queues when ``-Q`` chose none: Celery's
    ``consume_from`` then names only the queues declared so far, so "none chosen" is
    read from its ``_consume_from``, unset until ``-Q`` selects)."""
    queues = app.amqp.queues
    if getattr(queues, "_consume_from", None) is None:
        return True
    selected = queues.consume_from
    return not selected or queue is None or queue in selected


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
