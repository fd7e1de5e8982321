"""The process-wide runtime: settings, Redis client, actor system and Celery app.

Built lazily, once per process, because resolving Redis may start the embedded
server; the CLI sets the config file and module first. Everything else asks
``runtime()``.

Two stages, so that a process that only reads Redis (``runs list``, ``runs status``,
the client's ``get_workflow_run``) loads neither Celery nor Kombu nor the engine:
``runtime()`` resolves the settings and the Redis client (and the actor key names, which
are pure); the actor system, the Celery app and everything wired into them (the turn
and step tasks, the run and schedule behaviours, the maintenance jobs, the worker
signals, the ``on_runtime`` installers) are built together, the same way for every
process, the first time anything asks for ``Runtime.system`` or ``Runtime.celery``: a
worker does before it starts, a client before it sends.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors import log as _log
from actors import sentinel
from actors.keys import ActorKeys, GlobalKeys

from ..config import (
    MODULE_ENV,
    Settings,
    celery_broker_url,
    load_settings,
    log_format,
    redis_client,
)
from ..routing import DEFAULT_QUEUE, celery_queues
from ._embedded_redis import resolve_redis

if TYPE_CHECKING:
    from celery import Celery
    from kombu.connection import Connection

    import actors

    from .hand_back import HandBack
    from .hook_store import HookStore

logger = _log.get_logger("pyworkflow.runtime")


@dataclass
class _Wired:
    """What the second stage builds: the actor system and the Celery app, wired."""

    system: actors.ActorSystem
    celery: Celery


@dataclass
class Runtime:
    settings: Settings
    redis: Any
    #: the actors' key names under ``settings.key_prefix`` (the actor system's own)
    keys: GlobalKeys = field(init=False)
    _wired: _Wired | None = field(default=None, init=False, repr=False)
    _hooks: HookStore | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.keys = GlobalKeys(self.settings.key_prefix)

    @property
    def queues(self) -> dict[str, str]:
        return celery_queues(self.settings.key_prefix, DEFAULT_QUEUE)

    def actor_keys(self, actor_id: str) -> ActorKeys:
        """An actor's keys (its record, journal...): what ``system.actor_keys`` gives,
        without building the actor system."""
        return self.keys.for_actor(actor_id)

    @property
    def hooks(self) -> HookStore:
        if self._hooks is None:
            from .hook_store import HookStore

            self._hooks = HookStore(self.redis, self.settings.key_prefix)
        return self._hooks

    def broker_connection(self) -> Connection:
        """A Kombu connection to read the queues with, like the Celery app's
        ``connection_for_read``, without building the app (``broker.read_connection``)."""
        from .broker import read_connection

        return read_connection(self.settings)

    @property
    def system(self) -> actors.ActorSystem:
        return self._wire().system

    @property
    def celery(self) -> Celery:
        return self._wire().celery

    def _wire(self) -> _Wired:
        if self._wired is None:
            with _lock:
                if self._wired is None:
                    _wire(self)
        assert self._wired is not None
        return self._wired


_lock = threading.RLock()
_runtime: Runtime | None = None
_config_file: str | None = None
_installers: list[Any] = []


def set_config_file(path: str | None) -> None:
    global _config_file
    _config_file = path


def config_file() -> str | None:
    """The ``--config`` file given to this process, if any."""
    return _config_file


def on_runtime(installer: Any) -> None:
    """Call ``installer(runtime)`` once the runtime's actor system and Celery app exist
    (now, if they already do).

    Lets modules register behaviours and tasks without forcing Redis to be resolved
    at import time, nor Celery to be loaded by a process that only reads.
    """
    with _lock:
        _installers.append(installer)
        if _runtime is not None and _runtime._wired is not None:
            installer(_runtime)


def _same_server(broker_url: str, redis_url: str) -> bool:
    """Whether the broker is the runtime's own Redis (then mailboxes are read with Lua in
    the same atomic steps as the journal). ``localhost`` and ``127.0.0.1`` are one.
    Behind Sentinel, only the same master (same sentinels, name and db) is: a plain URL
    of the master's current address is not, since a failover moves the master."""
    if sentinel.is_sentinel_url(broker_url) or sentinel.is_sentinel_url(redis_url):
        return sentinel.same_master(broker_url, redis_url)

    def norm(url: str) -> str:
        return celery_broker_url(url).replace("://localhost", "://127.0.0.1").replace(
            "@localhost", "@127.0.0.1").rstrip("/")

    return norm(broker_url) == norm(redis_url)


def runtime() -> Runtime:
    """The process's runtime: settings and Redis client (the rest on first use)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _log.configure(fmt=log_format(config_file=_config_file))
            settings = resolve_redis(load_settings(_config_file), logger)
            _runtime = Runtime(settings, redis_client(settings.redis_url))
        return _runtime


def _wire(rt: Runtime) -> None:
    """The second stage: the actor system and the Celery app with everything wired into
    them, then the ``on_runtime`` installers. Called once per runtime, under the lock."""
    from celery import signals

    import actors

    from .. import defaults, keys, tracing
    from ..engine import Ports, RunBehaviour
    from ..flow import worker_side as flow_worker_side
    from ..ids import RUN_ID_PREFIX, SCHEDULE_ID_PREFIX
    from ..schedules.behaviour import ScheduleBehaviour
    from . import step_task
    from .app_log_store import RedisAppLogSink
    from .broker_backlog import BrokerBacklog
    from .celery_app import make_celery
    from .counter_buffer import buffer_for
    from .heartbeat import Heartbeat
    from .idempotency import IdempotencyRetention
    from .retention import RunRetention
    from .run_ports import RedisRunStore
    from .step_leases import StepLeases
    from .turn_metrics import TurnMetrics

    settings, client = rt.settings, rt.redis
    same_redis = _same_server(settings.broker_url, settings.redis_url)
    system = actors.ActorSystem(client, settings.broker_url, prefix=settings.key_prefix,
                                mailbox_in_redis=same_redis)
    app = make_celery(settings)
    queues = rt.queues
    actors.install(app, system, turn_queue=queues["turns"],
                   task_queue_prefix=f"{settings.key_prefix}.")
    leases = StepLeases(client, settings.key_prefix)
    slots = flow_worker_side.install(app, system, leases, client, settings.key_prefix)
    ports = Ports(hooks=rt.hooks,
                  runs=RedisRunStore(client, settings.key_prefix, system),
                  queues=queues, step_lease_key=keys.step_leases(settings.key_prefix),
                  history_warn_events=settings.history_warn_events,
                  history_limit_events=settings.history_limit_events,
                  retention_s=settings.run_retention,
                  derive_trace=tracing.enabled(),
                  app_logs=RedisAppLogSink(settings.key_prefix),
                  queue_prefix=settings.key_prefix, hand_back_missing=True, slots=slots,
                  dispatch_watch_ms=(defaults.DISPATCH_CHECK_MS if same_redis
                                     else defaults.QUEUED_WATCH_MS))
    system.route(RUN_ID_PREFIX, RunBehaviour(ports))
    system.route(SCHEDULE_ID_PREFIX, ScheduleBehaviour())
    hand_back = _install_routing(system, settings.key_prefix)
    step_task.install(app, system, leases, hand_back=hand_back)
    if same_redis:  # a task lost on its way is found at its first check, not a lease later
        system.backlog = backlog = BrokerBacklog(client, queues["turns"])
        system.queue_text = backlog.text
        leases.backlogged = hand_back.steps_backlog
    retention = IdempotencyRetention(client, settings.key_prefix,
                                     settings.idempotency_retention,
                                     lambda run_id: system.actor_keys(run_id).record)
    system.periodic.append(retention.sweep)
    system.periodic.append(RunRetention(client, settings.key_prefix, system).sweep)
    system.instruments.add(TurnMetrics(client, settings.key_prefix))
    if tracing.enabled():  # sleeps, hooks, signals, children as spans
        system.instruments.add(tracing.WaitSpans())
    heartbeat = Heartbeat(client, settings.key_prefix)
    system.periodic.append(heartbeat.beat)
    signals.worker_shutdown.connect(lambda **_: heartbeat.stop(), weak=False)
    counters = buffer_for(client)  # metrics counted in this process: written on exit
    signals.worker_process_shutdown.connect(lambda **_: counters.flush(), weak=False)
    signals.worker_shutdown.connect(lambda **_: counters.flush(), weak=False)
    rt._wired = _Wired(system, app)
    for installer in _installers:
        installer(rt)


def _install_routing(system: actors.ActorSystem, prefix: str) -> HandBack:
    """Turns go where their run's route says (``turn_router``); what this worker lacks
    is handed back (``hand_back``); what it has is advertised (``adverts``) and what
    waits for it is claimed, by the maintenance loop."""
    from celery import signals

    from .adverts import MAILBOX_BROKER, MAILBOX_REDIS, Adverts
    from .hand_back import HandBack
    from .turn_router import TurnRouter

    system.router = TurnRouter(prefix)
    system.first_kinds = TurnRouter.FIRST_KINDS  # put last: their lease is the long one
    hand_back = HandBack(system, prefix)
    system.hand_back = hand_back.turn
    system.unserved = hand_back.unserved
    adverts = Adverts(system.redis, prefix,
                      MAILBOX_REDIS if system.mailbox_in_redis else MAILBOX_BROKER)
    system.periodic.append(adverts.advertise)
    system.periodic.append(lambda: hand_back.claim(adverts.mine()))
    signals.worker_shutdown.connect(lambda **_: adverts.stop(), weak=False)
    return hand_back


def import_module(name: str | None) -> None:
    """Import the user's module (``--module``), remembering it for worker children."""
    name = name or os.environ.get(MODULE_ENV)
    if not name:
        return
    os.environ[MODULE_ENV] = name
    importlib.import_module(name)
