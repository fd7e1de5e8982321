"""The replay engine: drives a run's coroutine from its journal, one event at a time.

Every primitive a workflow awaits (a step, a sleep, a hook, a child, its own end)
is a *command* with a position (``call_id``) in the run. While events are replayed,
commands the code issues are matched, in order, against the command events the
journal recorded; a different command at the same position is non-determinism
and parks the run, naming both sides. Past the end of the journal the code is
*live*: each command it issues becomes a new event plus its effects (a step task,
a timer, a message), committed by the turn.

Resolution events (a step's result, a fired sleep, a hook's payload) resolve the
waiting future and the loop runs until the code waits again, in journal order, so
the interleaving of concurrent branches (``gather``) is the same on every replay.
The kinds of command live in mixins, one noun each: ``_steps``, ``_waits``,
``_cancel``, ``_children``.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

from actors import Event, TurnContext

from . import serialization
from ._cancel import CancelMixin
from ._children import ChildrenMixin
from ._context import current_run
from ._history import COMMAND_EVENTS, TERMINAL_EVENTS, History
from ._loop import WorkflowLoop
from ._recovery import RecoveryMixin
from ._steps import StepsMixin
from ._waits import WaitsMixin
from .errors import CancellationError, NonDeterminismError
from .registry import find_workflow


@dataclass
class Command:
    call_id: int
    kind: str  # step | sleep | hook | child | cancel_child | complete
    name: str
    payload: dict[str, Any]
    future: asyncio.Future[Any] | None

    def describe(self) -> str:
        if self.kind == "sleep":
            return f"sleep({self.payload.get('duration_s')}s)"
        if self.kind == "complete":
            return f"workflow end ({self.name})"
        return f"{self.kind.replace('_', ' ')} {self.name!r}"


def describe_event(etype: str, data: dict[str, Any]) -> str:
    kind = COMMAND_EVENTS[etype]
    if kind == "sleep":
        return f"sleep({data.get('duration_s')}s)"
    if kind == "complete":
        return f"workflow end ({etype})"
    name = data.get("step") or data.get("name") or data.get("workflow")
    return f"{kind.replace('_', ' ')} {name!r}"


def _recorded_name(etype: str, data: dict[str, Any]) -> str | None:
    return data.get("step") or data.get("name") or data.get("workflow")


class Replayer(StepsMixin, WaitsMixin, CancelMixin, ChildrenMixin, RecoveryMixin):
    """The state of one run inside a worker: its history and its live coroutine."""

    def __init__(self, run_id: str, queues: dict[str, str]) -> None:
        self.run_id = run_id
        self.queues = queues
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
        self.after_commit: list[Any] = []
        self.masked: set[int] = set()
        self.step_lease_key: str | None = None
        self._completion_issued = False
        self.init_children()

    # -- the journal side ------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Replay one committed event (rebuilding a run, or catching up)."""
        if event.seq in self.masked:
            return  # superseded by an operator's retry (see ``run_retried``)
        self.now_ms = int(event.ts * 1000)
        self.history.record(event.type, event.data, event.ts, event.seq)
        if self.divergence is not None or self.setup_error is not None:
            return
        if event.type == "workflow_started":
            self._begin(event.data)
        elif event.type in COMMAND_EVENTS:
            if not event.data.get("forced"):
                self._match(event.type, event.data)
        elif event.type in ("workflow_resumed", "run_retried"):
            self._run()
        else:
            self.resolve(event.type, event.data)

    def _match(self, etype: str, data: dict[str, Any]) -> None:
        position = data.get("call_id", self.next_call_id)
        if not self.unmatched:
            self.divergence = NonDeterminismError(position, describe_event(etype, data), "nothing")
            return
        cmd = self.unmatched.popleft()
        kind = COMMAND_EVENTS[etype]
        same = cmd.kind == kind and (kind in ("complete", "sleep")
                                     or cmd.name == _recorded_name(etype, data))
        if not same:
            self.divergence = NonDeterminismError(cmd.call_id, describe_event(etype, data),
                                                  cmd.describe())
            return
        self.on_matched(cmd, data)

    def on_matched(self, cmd: Command, data: dict[str, Any]) -> None:
        """A replayed command met its recorded event: restore what the event decided."""
        if cmd.kind == "child":
            self.child_matched(cmd, data)
        elif cmd.kind == "cancel_child" and cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(None)
            self._run()

    # -- the live side -------------------------------------------------------------
    def emit(self, etype: str, data: dict[str, Any]) -> None:
        assert self.ctx is not None
        seq = self.ctx.next_seq
        self.ctx.emit(etype, data)
        self.history.record(etype, data, time.time(), seq)

    def begin_live(self, ctx: TurnContext) -> None:
        self.ctx = ctx
        self.now_ms = int(time.time() * 1000)
        if self.divergence is not None or self.setup_error is not None:
            self._park()
            return
        # Commands issued past the end of the journal are new: record them now.
        while self.unmatched:
            self._emit_command(self.unmatched.popleft())

    def end_live(self) -> None:
        if self.ctx is not None and not self.history.finished:
            self.ctx.project(status=self.history.live_status(), updated_at=repr(time.time()),
                             waiting_on=serialization.dumps(
                                 [c.describe() for c in self.history.open_calls()]))
        self.ctx = None

    def run_after_commit(self) -> None:
        callbacks, self.after_commit = self.after_commit, []
        for callback in callbacks:
            callback()

    def _park(self) -> None:
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
            self.notify_parent("failed", None, error)

    def start(self, payload: dict[str, Any]) -> None:
        if self.history.started is not None:
            return
        data = {"workflow": payload["workflow"], "args": payload.get("args", []),
                "kwargs": payload.get("kwargs", {})}
        for key in ("parent", "depth"):
            if payload.get(key) is not None:
                data[key] = payload[key]
        self.emit("workflow_started", data)
        assert self.ctx is not None
        now = repr(time.time())
        self.ctx.project(status="running", started_at=now, workflow=data["workflow"],
                         args=json.dumps(data["args"]), kwargs=json.dumps(data["kwargs"]))
        if "parent" in data:
            self.ctx.project(parent_run_id=data["parent"]["run_id"], created_at=now)
            self.index_child_run()
        self._begin(data)
        if self.setup_error is not None:
            self._park()

    # -- the coroutine ------------------------------------------------------------
    def _begin(self, data: dict[str, Any]) -> None:
        self.parent = data.get("parent")
        self.depth = int(data.get("depth", 0))
        defn = find_workflow(data["workflow"])
        if defn is None:
            self.setup_error = (f"workflow {data['workflow']!r} is not registered on this "
                                "worker: start the worker with the module that defines it "
                                "(pyworkflow --module ... worker run), then `runs retry`")
            return
        args = serialization.decode(data.get("args", []))
        kwargs = serialization.decode(data.get("kwargs", {}))
        ctx = contextvars.copy_context()
        ctx.run(current_run.set, self)
        self.task = self.loop.create_task(defn.fn(*args, **kwargs), context=ctx)
        self._run()

    def resolve(self, etype: str, data: dict[str, Any]) -> None:
        """Resolve the future a resolution event ends, then let the code run on."""
        future = self.futures.get(data.get("call_id", -1))
        if future is None or future.done():
            return
        outcome = self.outcome_of(etype, data)
        if outcome is None:
            return  # not an ending (a retry is pending)
        del self.futures[data["call_id"]]
        kind, value = outcome
        if kind == "error":
            future.set_exception(value)
        else:
            future.set_result(value)
        self._run()

    def outcome_of(self, etype: str, data: dict[str, Any]) -> tuple[str, Any] | None:
        if etype == "wait_cancelled":
            return "error", CancellationError(self.history.cancel_reason)
        for handler in (self.step_outcome, self.wait_outcome, self.child_outcome):
            outcome = handler(etype, data)
            if outcome is not None:
                return outcome
        return None

    def _run(self) -> None:
        # Commands are emitted from inside the running loop (a workflow task issues
        # them): the outer run_until_idle goes on with whatever they made ready.
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
        if cancelled:
            return Command(call_id, "complete", "workflow_cancelled",
                           {"reason": self.history.cancel_reason}, None)
        if exc is None:
            try:
                result = serialization.encode(self.task.result(), path="result")
            except serialization.SerializationError as err:
                return Command(call_id, "complete", "workflow_failed", {
                    "error_type": "SerializationError", "error": str(err), "traceback": None},
                    None)
            return Command(call_id, "complete", "workflow_completed", {"result": result}, None)
        return Command(call_id, "complete", "workflow_failed", {
            "error_type": type(exc).__name__, "error": str(exc),
            "traceback": "".join(traceback.format_exception(exc))}, None)

    def _issue(self, cmd: Command) -> None:
        if cmd.future is not None and cmd.kind not in ("child", "cancel_child"):
            self.futures[cmd.call_id] = cmd.future
        if self.ctx is not None and self.divergence is None:
            self._emit_command(cmd)
        else:
            self.unmatched.append(cmd)

    def _emit_command(self, cmd: Command) -> None:
        assert self.ctx is not None
        if cmd.kind == "step":
            self.emit_step(cmd)
        elif cmd.kind == "sleep":
            self.emit_sleep(cmd)
        elif cmd.kind == "hook":
            self.emit_hook(cmd)
        elif cmd.kind == "child":
            self.emit_child(cmd)
        elif cmd.kind == "cancel_child":
            self.emit_cancel_child(cmd)
        else:
            self._emit_end(cmd)

    def _emit_end(self, cmd: Command) -> None:
        assert self.ctx is not None
        self.emit(cmd.name, cmd.payload)
        now = repr(time.time())
        fields = {"status": TERMINAL_EVENTS[cmd.name], "updated_at": now, "finished_at": now,
                  "waiting_on": "[]"}
        error = None
        if cmd.name == "workflow_completed":
            fields["result"] = json.dumps(cmd.payload["result"])
        elif cmd.name == "workflow_failed":
            error = {"type": cmd.payload["error_type"], "message": cmd.payload["error"],
                     "traceback": cmd.payload.get("traceback")}
            fields["error"] = json.dumps(error)
        else:
            error = {"type": "CancellationError", "message": cmd.payload.get("reason") or
                     "cancelled", "traceback": None}
            fields["error"] = json.dumps(error)
        self.ctx.project(**fields)
        self.close_children()
        self.notify_parent(TERMINAL_EVENTS[cmd.name], cmd.payload.get("result"), error)

    def new_command(self, kind: str, name: str, payload: dict[str, Any]) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        cmd = Command(self.next_call_id, kind, name, payload, future)
        self.next_call_id += 1
        self._issue(cmd)
        return future
