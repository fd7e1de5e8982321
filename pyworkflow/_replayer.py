"""The replay engine: drives a run's coroutine from its journal, one event at a time.

Every primitive a workflow awaits (a step, a sleep, its own completion) is a
*command* with a position (``call_id``) in the run. While events are replayed,
commands the code issues are matched, in order, against the command events the
journal recorded; a different command at the same position is non-determinism
and parks the run, naming both sides. Past the end of the journal the code is
*live*: each command it issues becomes a new event plus an effect (a step task,
a timer), committed by the turn.

Resolution events (a step's result, a fired sleep) resolve the waiting future and
the loop runs until the code waits again, in journal order: the interleaving of
concurrent branches (``gather``) is the same on every replay.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import datetime as dt
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

from actors import EnqueueTask, Event, StartTimer, TurnContext

from . import serialization
from ._context import current_run
from ._history import COMMAND_EVENTS, TERMINAL_EVENTS, History
from ._loop import WorkflowLoop
from .durations import deadline_ms, parse_duration
from .errors import (
    CancellationError,
    FatalError,
    NonDeterminismError,
    RetryableError,
    StepFailedError,
    StepTimeoutError,
    error_from_record,
)
from .registry import StepDef, find_workflow
from .retry import retry_delay_ms

STEP_TASK = "pyworkflow.step"
OUR_ERRORS = {"FatalError", "RetryableError", "StepTimeoutError", "CancellationError"}


@dataclass
class Command:
    call_id: int
    kind: str  # step | sleep | complete
    name: str
    payload: dict[str, Any]
    future: asyncio.Future[Any] | None

    def describe(self) -> str:
        if self.kind == "step":
            return f"step {self.name!r}"
        if self.kind == "sleep":
            return f"sleep({self.payload.get('duration_s')}s)"
        return f"workflow end ({self.name})"


def _describe_event(etype: str, data: dict[str, Any]) -> str:
    if etype == "step_scheduled":
        return f"step {data.get('step')!r}"
    if etype == "sleep_started":
        return f"sleep({data.get('duration_s')}s)"
    return f"workflow end ({etype})"


_KIND_OF = {"step_scheduled": "step", "sleep_started": "sleep", **{t: "complete" for t in
                                                                   TERMINAL_EVENTS}}


class Replayer:
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
        self._completion_issued = False

    # -- the journal side ------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Replay one committed event (rebuilding a run, or catching up)."""
        self.now_ms = int(event.ts * 1000)
        self.history.record(event.type, event.data, event.ts)
        if self.divergence is not None or self.setup_error is not None:
            return
        if event.type == "workflow_started":
            self._begin(event.data)
        elif event.type in COMMAND_EVENTS:
            self._match(event.type, event.data)
        else:
            self._resolve(event.type, event.data)

    def _match(self, etype: str, data: dict[str, Any]) -> None:
        position = data.get("call_id", self.next_call_id)
        recorded = _describe_event(etype, data)
        if not self.unmatched:
            self.divergence = NonDeterminismError(position, recorded, "nothing")
            return
        cmd = self.unmatched.popleft()
        same = cmd.kind == _KIND_OF[etype] and (cmd.kind == "complete" or cmd.name == data.get(
            "step", "sleep"))
        if cmd.kind == "complete" and etype in TERMINAL_EVENTS:
            same = True  # how it ended may differ after a fix; the end itself is recorded
        if not same:
            self.divergence = NonDeterminismError(cmd.call_id, recorded, cmd.describe())

    # -- the live side -------------------------------------------------------------
    def emit(self, etype: str, data: dict[str, Any]) -> None:
        assert self.ctx is not None
        self.ctx.emit(etype, data)
        self.history.record(etype, data, time.time())

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

    def _park(self) -> None:
        if self.history.parked is not None or self.history.finished:
            return
        if self.divergence is not None:
            d = self.divergence
            data = {"reason": str(d), "position": d.position, "recorded": d.recorded,
                    "issued": d.issued, "error_type": "NonDeterminismError"}
        else:
            data = {"reason": self.setup_error, "error_type": "WorkflowNotFoundError"}
        self.emit("workflow_parked", data)
        assert self.ctx is not None
        self.ctx.project(status="parked", error=serialization.dumps(
            {"type": data["error_type"], "message": data["reason"], "traceback": None}))

    def start(self, payload: dict[str, Any]) -> None:
        if self.history.started is not None:
            return
        data = {"workflow": payload["workflow"], "args": payload.get("args", []),
                "kwargs": payload.get("kwargs", {})}
        self.emit("workflow_started", data)
        self.ctx.project(status="running", started_at=repr(time.time()))  # type: ignore[union-attr]
        self._begin(data)
        if self.setup_error is not None:
            self._park()

    def step_finished(self, payload: dict[str, Any]) -> None:
        """A step attempt reported back (``step-completed`` or ``step-failed``)."""
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.kind != "step" or call.state != "pending" \
                or call.attempt != payload.get("attempt"):
            return  # a duplicate or stale report: the step's outcome is recorded once
        base = {"call_id": call.call_id, "step": call.name, "attempt": call.attempt}
        if payload.get("ok"):
            data = {**base, "result": payload.get("result")}
            self.emit("step_completed", data)
            self._resolve("step_completed", data)
            return
        error_type = payload.get("error_type", "Exception")
        retry_at = self._retry_at(call.data, call.attempt, payload)
        data = {**base, "error_type": error_type, "error": payload.get("error", ""),
                "traceback": payload.get("traceback"), "will_retry": retry_at is not None,
                "retry_at_ms": retry_at}
        self.emit("step_failed", data)
        if retry_at is not None:
            assert self.ctx is not None
            self.ctx.effect(StartTimer(
                timer_id=f"{self.run_id}:retry:{call.call_id}:{call.attempt + 1}",
                due_ms=retry_at, actor_id=self.run_id, kind="timer-fired",
                payload={"purpose": "retry", "call_id": call.call_id,
                         "attempt": call.attempt + 1}))
        else:
            self._resolve("step_failed", data)

    def _retry_at(self, step: dict[str, Any], attempt: int, payload: dict[str, Any]) -> int | None:
        if payload.get("error_type") == "FatalError" or attempt >= step.get("max_attempts", 1):
            return None
        if payload.get("retry_at_ms") is not None:
            return max(self.now_ms, int(payload["retry_at_ms"]))
        return self.now_ms + retry_delay_ms(step.get("retry_delay", "exponential"), attempt)

    def timer_fired(self, payload: dict[str, Any]) -> None:
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None:
            return
        if payload.get("purpose") == "sleep" and call.kind == "sleep" and call.state == "pending":
            data = {"call_id": call.call_id}
            self.emit("sleep_completed", data)
            self._resolve("sleep_completed", data)
        elif payload.get("purpose") == "retry" and call.state == "retry_wait" \
                and payload.get("attempt") == call.attempt + 1:
            self.emit("step_retrying", {"call_id": call.call_id, "step": call.name,
                                        "attempt": call.attempt + 1})
            self._dispatch_step(call.call_id, call.name, call.data, call.attempt)

    # -- the coroutine ------------------------------------------------------------
    def _begin(self, data: dict[str, Any]) -> None:
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

    def _resolve(self, etype: str, data: dict[str, Any]) -> None:
        future = self.futures.pop(data.get("call_id", -1), None)
        if future is None or future.done():
            return
        if etype == "step_completed":
            future.set_result(serialization.decode(data.get("result")))
        elif etype == "sleep_completed":
            future.set_result(None)
        elif etype == "step_failed" and not data.get("will_retry"):
            future.set_exception(_step_error(data))
        else:
            self.futures[data["call_id"]] = future
            return
        self._run()

    def _run(self) -> None:
        if self.task is None:
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
        if exc is None:
            try:
                result = serialization.encode(self.task.result(), path="result")
            except serialization.SerializationError as err:
                return Command(call_id, "complete", "workflow_failed", {
                    "error_type": "SerializationError", "error": str(err), "traceback": None},
                    None)
            return Command(call_id, "complete", "workflow_completed", {"result": result}, None)
        if isinstance(exc, CancellationError) and self.history.cancel_requested:
            return Command(call_id, "complete", "workflow_cancelled",
                           {"reason": self.history.cancel_reason}, None)
        return Command(call_id, "complete", "workflow_failed", {
            "error_type": type(exc).__name__, "error": str(exc),
            "traceback": "".join(traceback.format_exception(exc))}, None)

    def _issue(self, cmd: Command) -> None:
        if cmd.future is not None:
            self.futures[cmd.call_id] = cmd.future
        if self.ctx is not None and self.divergence is None:
            self._emit_command(cmd)
        else:
            self.unmatched.append(cmd)

    def _emit_command(self, cmd: Command) -> None:
        assert self.ctx is not None
        if cmd.kind == "step":
            data = {"call_id": cmd.call_id, "step": cmd.name, "attempt": 1, **cmd.payload}
            self.emit("step_scheduled", data)
            self._dispatch_step(cmd.call_id, cmd.name, data, 1)
        elif cmd.kind == "sleep":
            wake = deadline_ms(cmd.payload["until"] if "until" in cmd.payload
                               else cmd.payload["duration_s"], self.now_ms)
            self.emit("sleep_started", {"call_id": cmd.call_id, "wake_at_ms": wake,
                                        "duration_s": cmd.payload.get("duration_s")})
            self.ctx.effect(StartTimer(
                timer_id=f"{self.run_id}:sleep:{cmd.call_id}", due_ms=wake, actor_id=self.run_id,
                kind="timer-fired", payload={"purpose": "sleep", "call_id": cmd.call_id}))
        else:
            self.emit(cmd.name, cmd.payload)
            fields = {"status": TERMINAL_EVENTS[cmd.name], "updated_at": repr(time.time()),
                      "finished_at": repr(time.time()), "waiting_on": "[]"}
            if cmd.name == "workflow_completed":
                fields["result"] = json.dumps(cmd.payload["result"])
            elif cmd.name == "workflow_failed":
                fields["error"] = json.dumps({
                    "type": cmd.payload["error_type"], "message": cmd.payload["error"],
                    "traceback": cmd.payload.get("traceback")})
            self.ctx.project(**fields)

    def _dispatch_step(self, call_id: int, name: str, data: dict[str, Any], attempt: int) -> None:
        assert self.ctx is not None
        self.ctx.effect(EnqueueTask(
            name=STEP_TASK, task_id=f"{self.run_id}:{call_id}:{attempt}",
            kwargs={"run_id": self.run_id, "call_id": call_id, "step": name, "attempt": attempt,
                    "args": data.get("args", []), "kwargs": data.get("kwargs", {}),
                    "timeout": data.get("timeout")},
            queue=self.queues["steps"]))

    # -- what primitives call ------------------------------------------------------
    def schedule_step(self, step: StepDef, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        payload = {"args": serialization.encode(list(args), path=f"{step.name} args"),
                   "kwargs": serialization.encode(kwargs, path=f"{step.name} kwargs"),
                   "max_attempts": step.max_retries + 1, "retry_delay": step.retry_delay,
                   "timeout": step.timeout}
        return self._new_command("step", step.name, payload)

    def schedule_sleep(self, duration: Any) -> asyncio.Future[Any]:
        if isinstance(duration, dt.datetime):
            payload: dict[str, Any] = {"until": duration, "duration_s": None}
        else:
            payload = {"duration_s": parse_duration(duration)}
        return self._new_command("sleep", "sleep", payload)

    def _new_command(self, kind: str, name: str, payload: dict[str, Any]) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        cmd = Command(self.next_call_id, kind, name, payload, future)
        self.next_call_id += 1
        self._issue(cmd)
        return future


def _step_error(data: dict[str, Any]) -> Exception:
    error_type = data.get("error_type", "Exception")
    if error_type in OUR_ERRORS:
        return error_from_record(error_type, data.get("error", ""))
    return StepFailedError(data.get("step", "?"), error_type, data.get("error", ""),
                           data.get("traceback"), data.get("attempt", 1))


__all__ = ["Replayer", "FatalError", "RetryableError", "StepTimeoutError"]
