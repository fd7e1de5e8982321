"""The run being replayed: its journal, its live coroutine, and the core verbs.

Every primitive a workflow awaits (a step, a sleep, a hook, a child, its own end)
is a *command* with a position (``call_id``). While events are replayed, commands
the code issues are matched, in order, against the command events the journal
recorded; a different command at the same position is non-determinism and parks
the run, naming both sides. Past the end of the journal the code is *live*: each
command it issues is recorded by its kind (``commands/``) as a new event plus its
effects, committed by the turn.

Resolution events (a step's result, a fired sleep, a hook's payload) resolve the
waiting future and the loop runs until the code waits again, in journal order, so
the interleaving of concurrent branches (``gather``) is the same on every replay.

This module is the core the kinds rely on: ``emit``, ``resolve``, ``wake``,
``new_command``, ``checkpoint``, ``effect``/``project``, ``park``, ``end_run`` and
the worker-loss policy. It does no I/O: what it needs from outside comes through
``ports``.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import structlog

from actors.behaviour import TurnContext
from actors.effects import Effect, Send, StartTimer
from actors.elsewhere import ActorElsewhere
from actors.event import Event
from actors.log import get_logger

from .. import events as ev
from .. import ids, serialization
from ..app_log import AppLogLine
from ..durations import deadline_ms, parse_duration
from ..errors import CancellationError, NonDeterminismError
from ..ids import child_done_message_id
from ..registry import find_workflow
from ..routing import need_workflow
from ..wire import ChildEnded, StartRun, TimerFired, encode
from .command import Command
from .commands import KINDS, OBSERVERS, RESOLVERS, SLOT_GATE
from .context import current_run, shielded
from .history import History
from .loop import WorkflowLoop
from .ports import Ports

logger = get_logger("pyworkflow.engine")

DEFAULT_MAX_RECOVERY_ATTEMPTS = 3
#: A run that waits at least this long (a sleep, a hook, a child) has its journal sealed
#: into one compressed value while it waits (``actors.sealed``); a shorter sleep is not
#: worth the read and the rewrite.
SEAL_AFTER_WAIT_S = 10.0
#: Start-message fields of runs that the system starts (not a client, not a parent):
#: recorded in ``workflow_started``, projected onto the record, and the run is indexed.
SYSTEM_STARTS = ("schedule_id", "fire_time", "continued_from")


class Run:
    """The state of one run inside a worker: its history and its live coroutine."""

    def __init__(self, run_id: str, ports: Ports) -> None:
        self.run_id = run_id
        self.ports = ports
        self.history = History()
        self.loop = WorkflowLoop()  # type: ignore[abstract]
        self.task: asyncio.Task[Any] | None = None
        self.next_call_id = 1
        self.futures: dict[int, asyncio.Future[Any]] = {}
        self.unmatched: collections.deque[Command] = collections.deque()
        self.ctx: TurnContext | None = None  # set while handling live messages
        self.divergence: NonDeterminismError | None = None
        self.setup_error: str | None = None
        self.now_ms = 0
        self.depth = 0
        self.parent: dict[str, Any] | None = None
        self.after_commit: list[Callable[[], Any]] = []
        self._masked: set[int] | None = None
        #: the masked positions the journal's own ``run_retried`` events say, and whether
        #: this state took the journal from its first event (then they are all of them)
        self._journal_masked: set[int] = set()
        self._from_start: bool | None = None
        self.kind_state: dict[str, Any] = {k: kind.new_state() for k, kind in KINDS.items()}
        #: the change ids of every ``patch_marked`` in the journal taken so far
        self.patch_markers: set[str] = set()
        self._pending: collections.deque[Event] = collections.deque()
        self._completion_issued = False
        #: Lines the code logged live through ``get_logger()`` this turn (``app_log``):
        #: handed to ``ports.app_logs`` when the turn settles, to ride on its commit.
        self.app_log: list[AppLogLine] = []

    # -- the journal side ------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Take one committed event (rebuilding a run, or catching up). Events are
        replayed in order by ``catch_up``, which the live side calls first: so while
        the code replays, the rest of the journal is known (``patched()`` needs that)."""
        self._pending.append(event)
        if self._from_start is None:
            self._from_start = event.seq == 1
        if event.type == ev.PATCH_MARKED:
            self.patch_markers.add(event.data.get("change_id", ""))
        elif event.type == ev.RUN_RETRIED:  # each one says every position masked so far
            self._journal_masked = {int(p) for p in event.data.get("masked") or []}

    def catch_up(self) -> None:
        """Replay the events taken since the last catch-up."""
        while self._pending:
            self._replay(self._pending.popleft())

    @property
    def masked(self) -> set[int]:
        """Journal positions an operator's retry superseded; when first needed (replaying
        a journal): from the journal itself when this state took it whole before
        replaying (the turn's rebuild reads it to its end first, and the last
        ``run_retried`` names them all), else from the run's store (the record's
        projection of the same list). A new run's first turn reads neither."""
        if self._masked is None:
            self._masked = (set(self._journal_masked) if self._from_start
                            else self.ports.runs.masked(self.run_id))
        return self._masked

    @masked.setter
    def masked(self, positions: set[int]) -> None:
        self._masked = positions

    @property
    def at_journal_end(self) -> bool:
        """Whether the code runs past the end of the journal (live, or replaying the last
        event): what it issues now is new, not a repeat of history."""
        return self.ctx is not None or not self._pending

    def _replay(self, event: Event) -> None:
        if event.seq in self.masked:
            return  # superseded by an operator's retry (see ``run_retried``)
        self.now_ms = int(event.ts * 1000)
        self.history.record(event.type, event.data, event.ts, event.seq)
        self._observe(event.type, event.data)
        if self.divergence is not None or self.setup_error is not None:
            return
        if event.type == ev.WORKFLOW_STARTED:
            self._begin(event.data)
        elif event.type in ev.COMMAND_KINDS:
            if not event.data.get("forced"):
                self._match(event.type, event.data)
        elif event.type in ev.RETRIES:
            self.wake()
        else:
            self.resolve(event.type, event.data)

    def _observe(self, etype: str, data: dict[str, Any]) -> None:
        for kind in OBSERVERS.get(etype, ()):
            kind.observe(self, etype, data)

    def _match(self, etype: str, data: dict[str, Any]) -> None:
        kind = KINDS[ev.COMMAND_KINDS[etype]]
        position = data.get("call_id", self.next_call_id)
        if not self.unmatched:
            self.divergence = NonDeterminismError(
                position, kind.describe_event(etype, data), "nothing")
            return
        cmd = self.unmatched.popleft()
        if cmd.kind != kind.kind or not kind.same(cmd, etype, data):
            self.divergence = NonDeterminismError(
                cmd.call_id, kind.describe_event(etype, data), KINDS[cmd.kind].describe(cmd))
            return
        kind.matched(self, cmd, data)

    # -- the live side -------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.ctx is not None

    def turn(self) -> TurnContext:
        """The turn being committed (only while live)."""
        assert self.ctx is not None, "no turn: the run is replaying"
        return self.ctx

    def now(self) -> float:
        return self.ports.clock.now()

    def emit(self, etype: str, data: dict[str, Any]) -> None:
        ctx = self.turn()
        seq = ctx.next_seq
        ctx.emit(etype, data)
        self.history.record(etype, data, self.now(), seq)
        self._observe(etype, data)

    def effect(self, effect: Effect) -> None:
        self.turn().effect(effect)

    def project(self, **fields: str) -> None:
        self.turn().project(**fields)

    def begin_live(self, ctx: TurnContext) -> None:
        self.catch_up()
        self.ctx = ctx
        self.now_ms = int(self.now() * 1000)
        if self.divergence is not None or self.setup_error is not None:
            self._park_for_setup()
            return
        if self.history.parked is not None:
            # A parked run runs no code, so records none of its commands: those its code
            # issued on replay past a resume that a later park overtook (a journal of a
            # release that parked again in the resuming turn) wait for the next resume.
            # Recording them here could even end the run while its record says parked,
            # leaving it ``completed`` with the park's error.
            return
        # Commands issued past the end of the journal are new: record them now.
        while self.unmatched:
            self._emit_command(self.unmatched.popleft())

    def end_live(self) -> None:
        self._flush_app_log()
        if self.ctx is not None and not self.history.finished:
            self._watch_history_size(self.ctx.next_seq - 1)
        if self.ctx is not None and not self.history.finished:
            status = self.history.live_status()
            self.project(status=status, updated_at=repr(self.now()),
                         waiting_on=serialization.dumps(
                             [c.describe() for c in self.history.open_calls()]))
            if status == "suspended":
                self.ctx.settle_journal()
                if self.history.waits_long(self.now() * 1000, SEAL_AFTER_WAIT_S * 1000):
                    self.ctx.compact_journal()
        self.ctx = None

    def _flush_app_log(self) -> None:
        lines, self.app_log = self.app_log, []
        if lines and self.ports.app_logs is not None:
            self.ports.app_logs.write(self.run_id, lines)

    def _watch_history_size(self, events: int) -> None:
        """A journal that grows without end makes every cache miss replay it all: warn
        once (an event) past ``history_warn_events``, park past ``history_limit_events``
        with the way out (``continue_as_new``).

        Not in a turn that asked to rebuild the run (an operator's ``runs retry``): its
        state is about to be replaced by the current code, which has not run yet. Parking
        there would undo the retry before the fixed code (one that now calls
        ``continue_as_new``, or simply ends) had its turn, whatever it would do: the
        retry's ``wake`` turn runs that code, and the size is judged after it. A run still
        over the limit then (its code goes on growing the journal) is parked again; one
        the code ended, or a limit the operator raised, is not."""
        limit, warn = self.ports.history_limit_events, self.ports.history_warn_events
        if self.history.parked is not None or self.turn().rebuild:
            return
        if limit and events >= limit:
            self.park({"reason": f"the run's journal holds {events} events (the limit is "
                                 f"{limit}): make the workflow call continue_as_new() "
                                 "before its history grows this large, then "
                                 "`pyworkflow runs retry <run_id>`",
                       "error_type": "HistoryLimitError", "events": events})
        elif warn and events >= warn and not self.history.history_warned:
            self.emit(ev.HISTORY_LARGE, {"events": events, "warn_at": warn, "limit": limit})
            logger.warning("the run's journal is large: use continue_as_new", run_id=self.run_id,
                           events=events, parks_at=limit)

    def run_after_commit(self) -> None:
        callbacks, self.after_commit = self.after_commit, []
        for callback in callbacks:
            callback()

    def start(self, message: StartRun, admitted: dict[str, Any] | None = None) -> None:
        """The ``start`` message: record the run's beginning and run its code. A workflow
        with a concurrency limit takes its slot first (``admitted``: the slot it took
        while it waited), or waits for one (``commands/slot.py``)."""
        if self.history.started is not None or self.history.finished:
            return
        if admitted is None:
            admitted = SLOT_GATE.admit(self, message)
            if admitted is None:
                return
        data: dict[str, Any] = {"workflow": message.workflow, "args": message.args or [],
                                "kwargs": message.kwargs or {}}
        if admitted:
            data["slot"] = admitted
        for key in ("parent", "depth", "trace", "trace_link", *SYSTEM_STARTS):
            if getattr(message, key) is not None:
                data[key] = getattr(message, key)
        deadline = self._deadline_ms(message)
        if deadline is not None:
            data["deadline_ms"] = deadline
        self.emit(ev.WORKFLOW_STARTED, data)
        if deadline is not None:
            self.effect(StartTimer(timer_id=ids.run_timeout_timer_id(self.run_id),
                                   due_ms=deadline, actor_id=self.run_id, kind="timer-fired",
                                   payload=encode(TimerFired("run-timeout"))))
        now = self.now()
        self.project(status="running", started_at=repr(now), workflow=data["workflow"],
                     args=json.dumps(data["args"]), kwargs=json.dumps(data["kwargs"]))
        if "parent" in data:
            self.project(parent_run_id=data["parent"]["run_id"], created_at=repr(now))
        for key in SYSTEM_STARTS:
            if key in data:
                self.project(**{key: str(data[key])}, created_at=repr(now))
        if "parent" in data or any(key in data for key in SYSTEM_STARTS):
            self.ports.runs.index(self.run_id, now)  # no client listed it: list it here
        self._begin(data)
        if self.setup_error is not None:
            self._park_for_setup()

    def _deadline_ms(self, message: StartRun) -> int | None:
        """When the run must end: its own ``max_duration`` from now, and never after its
        parent's deadline (passed down in the start message)."""
        defn = find_workflow(message.workflow)
        own = defn.options.get("max_duration") if defn is not None else None
        deadlines = [message.deadline_ms] if message.deadline_ms else []
        if own is not None:
            deadlines.append(deadline_ms(own, self.now_ms))
        return min(deadlines) if deadlines else None

    @property
    def trace(self) -> dict[str, str] | None:
        """The run's trace context (a W3C carrier journaled with its start), if traced:
        passed on to its steps and children as it is (see ``pyworkflow.tracing``). A run
        started without one (no tracer where it was started: a schedule, a CLI) is traced
        under one derived from its run id when ``ports.derive_trace`` is set, so all its
        spans still land in one trace; deriving it again on every worker gives the same."""
        value = (self.history.started or {}).get("trace")
        if isinstance(value, dict) and value:
            return value
        return ids.trace_carrier(self.run_id) if self.ports.derive_trace else None

    @property
    def deadline_ms(self) -> int | None:
        started = self.history.started or {}
        value = started.get("deadline_ms")
        return int(value) if value is not None else None

    # -- the coroutine ------------------------------------------------------------
    def _begin(self, data: dict[str, Any]) -> None:
        self.parent = data.get("parent")
        self.depth = int(data.get("depth", 0))
        defn = find_workflow(data["workflow"])
        if defn is None and self.ports.hand_back_missing:
            # Another worker may have it: the turn goes back, untouched (``actors.elsewhere``).
            raise ActorElsewhere(need_workflow(data["workflow"]))
        if defn is None:
            self.setup_error = (f"workflow {data['workflow']!r} is not registered on this "
                                "worker: start the worker with the module that defines it "
                                "(pyworkflow --module ... worker run), then `runs retry`")
            return
        args = serialization.decode(data.get("args", []))
        kwargs = serialization.decode(data.get("kwargs", {}))
        ctx = contextvars.copy_context()
        ctx.run(current_run.set, self)
        # Every line the code logs (structlog or stdlib, via merge_contextvars in the
        # chain) names its run; bound in the code's own context, which its tasks copy.
        # What the turn that created it had bound (its turn number, its message) would
        # be stale in every later turn: cleared.
        ctx.run(structlog.contextvars.clear_contextvars)
        ctx.run(structlog.contextvars.bind_contextvars, run_id=self.run_id,
                workflow=data["workflow"])
        self.task = self.loop.create_task(defn.fn(*args, **kwargs), context=ctx)
        self.wake()

    def resolve(self, etype: str, data: dict[str, Any]) -> None:
        """Resolve the future a resolution event ends, then let the code run on."""
        future = self.futures.get(data.get("call_id", -1))
        if future is None or future.done():
            return
        outcome = self._outcome(etype, data)
        if outcome is None:
            return  # not an ending (a retry is pending)
        del self.futures[data["call_id"]]
        kind, value = outcome
        if kind == "error":
            future.set_exception(value)
        else:
            future.set_result(value)
        self.wake()

    def _outcome(self, etype: str, data: dict[str, Any]) -> tuple[str, Any] | None:
        if etype == ev.WAIT_CANCELLED:
            return "error", CancellationError(self.history.cancel_reason)
        kind = RESOLVERS.get(etype)
        return None if kind is None else kind.outcome(self, etype, data)

    def wake(self) -> None:
        """Let the code run until it waits again; issue its end once it returns.

        Commands are emitted from inside the running loop (a workflow task issues
        them): the outer ``run_until_idle`` goes on with whatever they made ready."""
        if self.task is None or self.loop.is_running() or self.history.parked is not None:
            return
        self.loop.run_until_idle()
        if self.task.done() and not self._completion_issued:
            self._completion_issued = True
            self._issue(self._completion_command())

    def _completion_command(self) -> Command:
        assert self.task is not None
        call_id = self.next_call_id
        self.next_call_id += 1
        if self.task.cancelled():
            exc: BaseException | None = CancellationError("cancelled")
        else:
            exc = self.task.exception()
        cancelled = self.history.cancel_requested and (
            self.history.cancel_force or isinstance(exc, CancellationError))
        if cancelled and self.history.cancel_timed_out:
            return Command(call_id, "complete", ev.WORKFLOW_FAILED, {
                "error_type": "WorkflowTimeoutError",
                "error": self.history.cancel_reason or "the run's max_duration passed",
                "traceback": None}, None)
        if cancelled:
            return Command(call_id, "complete", ev.WORKFLOW_CANCELLED,
                           {"reason": self.history.cancel_reason}, None)
        if exc is None:
            try:
                result = serialization.encode(self.task.result(), path="result")
            except serialization.SerializationError as err:
                return Command(call_id, "complete", ev.WORKFLOW_FAILED, {
                    "error_type": "SerializationError", "error": str(err), "traceback": None},
                    None)
            return Command(call_id, "complete", ev.WORKFLOW_COMPLETED, {"result": result}, None)
        return Command(call_id, "complete", ev.WORKFLOW_FAILED, {
            "error_type": type(exc).__name__, "error": str(exc),
            "traceback": "".join(traceback.format_exception(exc))}, None)

    def new_command(self, kind: str, name: str, payload: dict[str, Any]) -> asyncio.Future[Any]:
        """Issue a command at the next position; the future resolves from the journal."""
        _refuse_while_closing()
        future = self.loop.create_future()
        cmd = Command(self.next_call_id, kind, name, payload, future)
        self.next_call_id += 1
        self._issue(cmd)
        return future

    def _issue(self, cmd: Command) -> None:
        if cmd.future is not None and KINDS[cmd.kind].awaits_resolution:
            self.futures[cmd.call_id] = cmd.future
        if self.ctx is not None and self.divergence is None:
            self._emit_command(cmd)
        else:
            self.unmatched.append(cmd)

    def _emit_command(self, cmd: Command) -> None:
        KINDS[cmd.kind].emit(self, cmd)

    # -- cancellation ---------------------------------------------------------------
    def checkpoint(self) -> None:
        """Raise ``CancellationError`` at a primitive once the run is being cancelled,
        except inside ``shield()``."""
        _refuse_while_closing()
        if self.history.cancel_requested and not shielded():
            raise CancellationError(self.history.cancel_reason)

    # -- ending and stopping ----------------------------------------------------------
    def end_run(self, status: str, fields: dict[str, str], result: Any,
                error: dict[str, Any] | None, continued: bool = False) -> None:
        """Project the run's end, close its open calls (children), tell its parent and
        its schedule (unless a successor goes on in its place: ``continued``)."""
        now = repr(self.now())
        self.project(status=status, updated_at=now, finished_at=now, waiting_on="[]",
                     **fields)
        retention = self.retention_s()
        if retention is not None:
            purge_at = self.now() + retention
            self.project(purge_at=repr(purge_at))
            self.ports.runs.expire(self.run_id, purge_at)
        if self.ctx is not None:
            self.ctx.settle_journal()
            self.ctx.compact_journal(ended=True)
        for call in list(self.history.open.values()):
            KINDS[call.kind].on_run_end(self, call)
        SLOT_GATE.on_run_end(self)
        if continued:
            return
        self._notify_parent(status, result, error)
        schedule_id = (self.history.started or {}).get("schedule_id")
        if schedule_id and self.ctx is not None:  # its schedule applies its overlap policy
            self.effect(Send(str(schedule_id), "run-ended",
                             {"run_id": self.run_id, "status": status},
                             msg_id=ids.run_ended_message_id(self.run_id)))

    def ended_by_command(self) -> None:
        """The code ended the run itself (continue-as-new): no end is issued when its
        main task later stops."""
        self._completion_issued = True

    def _notify_parent(self, status: str, result: Any, error: dict[str, Any] | None) -> None:
        if not self.parent or self.ctx is None:
            return
        self.effect(Send(self.parent["run_id"], "child-completed", encode(ChildEnded(
            self.parent["call_id"], self.run_id, status, result, error)),
            msg_id=child_done_message_id(self.run_id)))

    def park(self, data: dict[str, Any]) -> dict[str, Any]:
        """Stop the run for an operator: recorded, visible in its status, code not run."""
        self.emit(ev.WORKFLOW_PARKED, data)
        error = {"type": data["error_type"], "message": data["reason"], "traceback": None}
        self.project(status="parked", error=json.dumps(error), updated_at=repr(self.now()))
        return error

    def _park_for_setup(self) -> None:
        if self.history.parked is not None or self.history.finished:
            return
        if self.divergence is not None:
            d = self.divergence
            data = {"reason": str(d), "position": d.position, "recorded": d.recorded,
                    "issued": d.issued, "error_type": "NonDeterminismError"}
        else:
            data = {"reason": self.setup_error, "error_type": "WorkflowNotFoundError"}
        error = self.park(data)
        if self.setup_error is not None:
            # A child that can never run must not leave its parent waiting.
            self._notify_parent("failed", None, error)

    # -- worker loss ---------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        started = self.history.started or {}
        defn = find_workflow(started.get("workflow", ""))
        return defn.options if defn is not None else {}

    def retention_s(self) -> float | None:
        """How long this run is kept once it has ended (None: forever)."""
        options = self.options()
        if "retention" in options:
            value = options["retention"]
            return None if value is None else parse_duration(value)
        return self.ports.retention_s

    def max_recoveries(self) -> int:
        return int(self.options().get("max_recovery_attempts", DEFAULT_MAX_RECOVERY_ATTEMPTS))

    def recovers_on_worker_loss(self) -> bool:
        return bool(self.options().get("recover_on_worker_loss", True))

    def worker_lost_decision(self, losses: int, retries_left: bool) -> str:
        """After work of this run lost its worker ``losses`` times: 'fail' the run, 'park'
        it (poison), or 'retry'."""
        if not self.recovers_on_worker_loss():
            return "fail"
        if losses >= self.max_recoveries() or not retries_left:
            return "park"
        return "retry"

    def fail_for_worker_loss(self, where: str) -> None:
        reason = (f"a worker was lost during {where} and this workflow is declared "
                  "recover_on_worker_loss=False")
        self.emit(ev.WORKFLOW_FAILED, {"error_type": "WorkerLostError", "error": reason,
                                       "traceback": None, "forced": True})
        error = {"type": "WorkerLostError", "message": reason, "traceback": None}
        self.end_run("failed", {"error": json.dumps(error)}, None, error)


def _refuse_while_closing() -> None:
    """A run dropped from a worker's cache (or a test's) has its coroutine closed:
    ``finally`` blocks run with ``GeneratorExit`` in flight. A primitive awaited there
    must issue nothing (the run is not live) and let the close finish quietly."""
    if isinstance(sys.exc_info()[1], GeneratorExit):
        raise GeneratorExit
