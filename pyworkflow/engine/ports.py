"""What the engine needs from outside, as small interfaces (ports), with in-memory
versions for tests and in-process runs.

The engine does no I/O: a worker fills these ports with Redis-backed stores
(``pyworkflow.worker.run_ports``), tests and ``pyworkflow.testing`` with the in-memory
ones below. Everything else the engine decides leaves it as journal events,
effects and projections of the run's record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .. import defaults

if TYPE_CHECKING:
    from ..app_log import AppLogLine
    from ..flow.limit import Verdict


@dataclass(frozen=True)
class HookMove:
    """The result of moving a hook's status: whether it moved, the status it is in now,
    the payload a delivery stored when it claimed the hook (JSON text), if any, and how
    many payloads the run refused before that one (its round: see ``reopen``)."""

    moved: bool
    status: str
    payload: str | None = None
    rejected: int = 0


class HookStore(Protocol):
    """Hook records: a token resolves to its run as soon as anyone holds it."""

    def record(self, token: str, run_id: str, call_id: int, name: str,
               expires_at_ms: int | None, shielded: bool, schema: str | None = None,
               typed: bool = False) -> None:
        """Write a pending hook; a typed one with its model's JSON Schema (text), which
        lets a door check payloads without the model (None: untyped, or too large)."""
        ...

    def settle(self, token: str, to: str) -> HookMove:
        """Move a pending hook to ``to`` (``expired``, ``cancelled``); a hook a delivery
        claimed first stays ``received`` and its stored payload comes back."""
        ...

    def reopen(self, token: str, rejected: int, to: str = "pending") -> bool:
        """The run's model refused the claimed payload of round ``rejected`` (the number
        of payloads refused before it): drop the claim, count the refusal and leave the
        hook ``to`` (``pending``: it takes another payload). A hook no longer
        ``received`` in that round is left alone (False): handling one refusal twice
        never drops a later claim."""
        ...


class RunStore(Protocol):
    """What the engine reads and indexes about runs beyond their journals."""

    def index(self, run_id: str, created_at: float) -> None:
        """List a run that a parent started (top-level runs are listed by their client)."""
        ...

    def masked(self, run_id: str) -> set[int]:
        """Journal positions an operator's retry superseded (``run_retried``): replay skips
        them, and they precede the event that says so, hence read before replay."""
        ...

    def expire(self, run_id: str, at: float) -> None:
        """The run has ended: purge it (every key) at ``at`` (seconds since the epoch)."""
        ...


class AppLogSink(Protocol):
    """Where a run's captured log lines go (``pyworkflow.app_log``): on a worker, the
    run's capped stream, written with the turn's commit."""

    def write(self, run_id: str, lines: list[AppLogLine]) -> None:
        ...


class SlotStore(Protocol):
    """Concurrency slots (``pyworkflow.flow``): a run takes its workflow's slot before its
    code begins. Taking it twice is one slot (a turn handled twice)."""

    def admit(self, limit: str, key: str, holder: str, max_slots: int, policy: str,
              payload: str) -> Verdict:
        """Take a slot of (``limit``, ``key``) for ``holder``, or wait for one (``payload``
        is delivered when it is granted)."""
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class WallClock:
    def now(self) -> float:
        return time.time()


@dataclass
class Ports:
    hooks: HookStore
    runs: RunStore
    clock: Clock = field(default_factory=WallClock)
    #: Celery queues: ``steps`` is where step tasks go.
    queues: dict[str, str] = field(default_factory=lambda: {"steps": "steps", "turns": "turns"})
    #: The deployment's key prefix, which names the Celery queues of a named queue
    #: (``routing.celery_queues``); None: steps go to ``queues["steps"]`` whatever their
    #: queue, as in-process runtimes run everything in one place.
    queue_prefix: str | None = None
    #: A run whose workflow this process lacks is handed back for a worker that has it
    #: (``actors.elsewhere``) rather than parked; off in-process, where nobody else could.
    hand_back_missing: bool = False
    #: The step-lease index that dispatched step tasks are watched in (None: unwatched).
    step_lease_key: str | None = None
    #: When the watch of a dispatched step task first looks at it: a task not started by
    #: then, and in no queue (``StepLeases.report_undelivered``), is sent again. The
    #: worker sets ``defaults.DISPATCH_CHECK_MS`` where it can read the queues'
    #: backlog; otherwise the whole ``QUEUED_WATCH_MS``.
    dispatch_watch_ms: int = defaults.QUEUED_WATCH_MS
    #: A run's journal size that records a warning, and the size that parks it (0: never).
    history_warn_events: int = defaults.HISTORY_WARN_EVENTS
    history_limit_events: int = defaults.HISTORY_LIMIT_EVENTS
    #: How long a finished run is kept before it is purged (None: forever); a
    #: workflow's own ``retention`` option wins.
    retention_s: float | None = defaults.RUN_RETENTION_S
    #: Trace a run started without a trace context under one derived from its run id
    #: (``ids.trace_carrier``), so its spans still make one trace; set when tracing is on.
    derive_trace: bool = False
    #: Where the lines workflow code logs through ``get_logger()`` go (None: nowhere but
    #: the process's log, as in tests and in-process runs).
    app_logs: AppLogSink | None = None
    #: Concurrency slots of workflows' ``Limit``s (None: limits are not enforced, as in
    #: the in-process runtimes; see docs/guides/flow-control.md).
    slots: SlotStore | None = None


# -- in memory ------------------------------------------------------------------------
@dataclass
class MemoryHook:
    run_id: str
    call_id: int
    name: str
    expires_at_ms: int | None
    shielded: bool
    status: str = "pending"
    payload: str | None = None
    created_at: float = 0.0
    schema: str | None = None
    typed: bool = False
    rejected: int = 0


class MemoryHookStore:
    def __init__(self, clock: Clock | None = None) -> None:
        self.hooks: dict[str, MemoryHook] = {}
        self._clock: Clock = clock or WallClock()

    def record(self, token: str, run_id: str, call_id: int, name: str,
               expires_at_ms: int | None, shielded: bool, schema: str | None = None,
               typed: bool = False) -> None:
        self.hooks[token] = MemoryHook(run_id, call_id, name, expires_at_ms, shielded,
                                       created_at=self._clock.now(), schema=schema,
                                       typed=typed or schema is not None)

    def settle(self, token: str, to: str) -> HookMove:
        hook = self.hooks.get(token)
        if hook is None:
            return HookMove(False, "missing")
        if hook.status != "pending":
            return HookMove(False, hook.status, hook.payload, hook.rejected)
        hook.status = to
        return HookMove(True, to)

    def reopen(self, token: str, rejected: int, to: str = "pending") -> bool:
        hook = self.hooks.get(token)
        if hook is None or hook.status != "received" or hook.rejected != rejected:
            return False
        hook.status, hook.payload, hook.rejected = to, None, hook.rejected + 1
        return True

    def claim(self, token: str, payload: str) -> HookMove:
        """A delivery: what ``resume_hook`` does against Redis (a hook whose expiry has
        passed by this store's clock refuses it, as the Redis script does)."""
        hook = self.hooks.get(token)
        if hook is None:
            return HookMove(False, "missing")
        if hook.status == "pending" and hook.expires_at_ms is not None \
                and hook.expires_at_ms <= self._clock.now() * 1000:
            return HookMove(False, "expired", None, hook.rejected)
        if hook.status != "pending":
            return HookMove(False, hook.status, hook.payload, hook.rejected)
        hook.status, hook.payload = "received", payload
        return HookMove(True, "received", payload, hook.rejected)


class MemoryRunStore:
    def __init__(self) -> None:
        self.indexed: dict[str, float] = {}
        self.masks: dict[str, set[int]] = {}
        self.expiries: dict[str, float] = {}

    def index(self, run_id: str, created_at: float) -> None:
        self.indexed[run_id] = created_at

    def masked(self, run_id: str) -> set[int]:
        return set(self.masks.get(run_id, set()))

    def expire(self, run_id: str, at: float) -> None:
        self.expiries[run_id] = at


def memory_ports(**overrides: object) -> Ports:
    """Ports that keep everything in this process (tests, in-process runs)."""
    ports = Ports(hooks=MemoryHookStore(), runs=MemoryRunStore())
    for name, value in overrides.items():
        setattr(ports, name, value)
    return ports
