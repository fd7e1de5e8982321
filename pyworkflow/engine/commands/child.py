"""Child workflows: starting a run of its own, awaiting it, closing it with the parent.

A child is a run of its own (own actor, journal, run id). Its start is a command in
the parent's journal, so a crash and replay of the parent never starts a second
child for the same call: the child's run id is recorded in ``child_started`` and its
start message carries a ``msg_id`` derived from it. When a child ends, it sends
``child-completed`` to its parent, which resolves the parent's wait. The command's
own future resolves at once with a :class:`StartedChild`; the public
``ChildWorkflowHandle`` wraps it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.effects import Send

from ... import events as ev
from ... import ids, serialization
from ...errors import ChildWorkflowFailedError, MaxNestingDepthError
from ...registry import find_workflow
from ...routing import DEFAULT_QUEUE, Route
from ...wire import CancelRun, ChildEnded, StartRun, encode
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    from ..command import Command
    from ..history import CallRecord
    from ..run import Run

MAX_DEPTH = 3


def child_route(run: Run, workflow: str) -> Route:
    """A child's route: its workflow's queue and priority where it declares them (and is
    known here), else the default queue, and its parent's priority."""
    defn = find_workflow(workflow)
    options = defn.options if defn is not None else {}
    return Route(options.get("queue", DEFAULT_QUEUE),
                 options.get("priority", ids.run_route(run.run_id).priority))
#: Parent-close policies (``pyworkflow.ParentClosePolicy`` has the same values).
TERMINATE, REQUEST_CANCEL, ABANDON = "terminate", "request_cancel", "abandon"


@dataclass(frozen=True)
class StartedChild:
    call_id: int
    child_run_id: str
    workflow: str


@dataclass
class Children:
    #: each child's completion, resolved by child_completed/child_failed, awaited or not
    results: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    #: each ended child's status, as the parent's journal knows it
    outcomes: dict[int, str] = field(default_factory=dict)


class ChildKind(CommandKind[Children]):
    kind = "child"
    resolutions = frozenset({ev.CHILD_COMPLETED, ev.CHILD_FAILED})
    awaits_resolution = False

    def new_state(self) -> Children:
        return Children()

    def schedule(self, run: Run, workflow: str, args: list[Any], kwargs: dict[str, Any],
                 wait: bool, policy: str) -> asyncio.Future[Any]:
        run.checkpoint()
        if run.depth + 1 > MAX_DEPTH:
            raise MaxNestingDepthError(run.depth + 1, MAX_DEPTH)
        call_id = run.next_call_id
        completion = run.loop.create_future()
        completion.add_done_callback(_mark_retrieved)
        self.state(run).results[call_id] = completion
        run.futures[call_id] = completion  # resolved by child_completed, awaited or not
        return run.new_command(self.kind, workflow, {
            "args": args, "kwargs": kwargs, "wait": wait, "policy": policy})

    def emit(self, run: Run, cmd: Command) -> None:
        child_run_id = ids.new_run_id(child_route(run, cmd.name))
        data = {"call_id": cmd.call_id, "workflow": cmd.name, "child_run_id": child_run_id,
                **cmd.payload}
        run.emit(ev.CHILD_STARTED, data)
        start = StartRun(
            workflow=cmd.name, args=cmd.payload["args"], kwargs=cmd.payload["kwargs"],
            parent={"run_id": run.run_id, "call_id": cmd.call_id}, depth=run.depth + 1,
            # the child's steps join the parent's trace (pyworkflow.tracing), and it cannot
            # outlive its parent's deadline
            trace=run.trace or None, deadline_ms=run.deadline_ms)
        run.effect(Send(child_run_id, "start", encode(start),
                        msg_id=ids.start_message_id(child_run_id)))
        self.matched(run, cmd, data)

    def matched(self, run: Run, cmd: Command, data: dict[str, Any]) -> None:
        if cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(StartedChild(cmd.call_id, data["child_run_id"], cmd.name))
            run.wake()

    async def result(self, run: Run, call_id: int) -> Any:
        future = self.state(run).results[call_id]
        if not future.done():
            run.checkpoint()
        return await future

    def status(self, run: Run, call_id: int) -> str:
        return self.state(run).outcomes.get(call_id, "running")

    def messages(self) -> dict[str, Handler]:
        return {"child-completed": self.finished}

    def finished(self, run: Run, ended: ChildEnded) -> None:
        call = run.history.calls.get(ended.call_id)
        if call is None or call.kind != self.kind or call.state == "done" \
                or call.data.get("child_run_id") != ended.child_run_id:
            return
        base = {"call_id": call.call_id, "workflow": call.name,
                "child_run_id": ended.child_run_id, "status": ended.status}
        if ended.status == "completed":
            data = {**base, "result": ended.result}
            run.emit(ev.CHILD_COMPLETED, data)
            run.resolve(ev.CHILD_COMPLETED, data)
            return
        error = ended.error or {}
        data = {**base, "error_type": error.get("type", ended.status),
                "error": error.get("message", "")}
        run.emit(ev.CHILD_FAILED, data)
        run.resolve(ev.CHILD_FAILED, data)

    def outcome(self, run: Run, etype: str, data: dict[str, Any]) -> Outcome:
        outcomes = self.state(run).outcomes
        if etype == ev.CHILD_COMPLETED:
            outcomes[data["call_id"]] = "completed"
            return "value", serialization.decode(data.get("result"))
        outcomes[data["call_id"]] = data.get("status") or "failed"
        return "error", ChildWorkflowFailedError(
            data["child_run_id"], data.get("workflow", "?"), data.get("error_type", "?"),
            data.get("error", ""))

    def interrupt(self, run: Run, call: CallRecord) -> bool:
        return True  # the parent stops waiting; the child itself goes on (see on_run_end)

    def on_run_end(self, run: Run, call: CallRecord) -> None:
        """Apply a still-running child's parent-close policy as the parent ends."""
        policy = call.data.get("policy", TERMINATE)
        if call.state == "done" or policy == ABANDON:
            return
        run.effect(Send(call.data["child_run_id"], "cancel", encode(CancelRun(
            reason=f"parent {run.run_id} ended", force=policy == TERMINATE)),
            msg_id=ids.close_child_message_id(run.run_id, call.call_id)))


class CancelChildKind(CommandKind[None]):
    """``handle.cancel()``: the parent asks one of its children to cancel."""

    kind = "cancel_child"
    awaits_resolution = False

    def schedule(self, run: Run, workflow: str, child_run_id: str,
                 reason: str | None) -> asyncio.Future[Any]:
        return run.new_command(self.kind, workflow, {"child_run_id": child_run_id,
                                                     "reason": reason})

    def emit(self, run: Run, cmd: Command) -> None:
        run.emit(ev.CHILD_CANCEL_REQUESTED, {"call_id": cmd.call_id, "workflow": cmd.name,
                                             "child_run_id": cmd.payload["child_run_id"]})
        run.effect(Send(cmd.payload["child_run_id"], "cancel",
                        encode(CancelRun(reason=cmd.payload.get("reason"), force=True)),
                        msg_id=ids.cancel_child_message_id(run.run_id, cmd.call_id)))
        self.matched(run, cmd, {})

    def matched(self, run: Run, cmd: Command, data: dict[str, Any]) -> None:
        if cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(None)
            run.wake()


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    """A fire-and-forget child's failure is recorded in the journal; asyncio need not
    warn that nobody awaited it."""
    if not future.cancelled():
        future.exception()
