"""Child workflows inside the replay engine: starting, awaiting, closing with the parent.

A child is a run of its own (own actor, journal, run id). Its start is a command in
the parent's journal, so a crash and replay of the parent never starts a second
child for the same call: the child's run id is recorded in ``child_started`` and its
start message carries a ``msg_id`` derived from it. When a child ends, it sends
``child-completed`` to its parent, which resolves the parent's wait.
"""

from __future__ import annotations

import asyncio
import enum
import time
from typing import TYPE_CHECKING, Any

from actors import Send

from . import serialization
from ._run_core import RunCore
from .errors import ChildWorkflowFailedError, MaxNestingDepthError
from .ids import new_run_id, start_message_id
from .keys import runs_index

if TYPE_CHECKING:
    from ._replayer import Command

MAX_DEPTH = 3


class ParentClosePolicy(enum.StrEnum):
    """What happens to a still-running child when its parent ends."""

    TERMINATE = "terminate"  # cancel it; it ends cancelled once its cleanup has run
    REQUEST_CANCEL = "request_cancel"  # ask it to cancel; it may catch that and finish
    ABANDON = "abandon"  # leave it running


class ChildWorkflowHandle:
    """A started child: await ``result()``, or ``cancel()`` it, from the parent."""

    def __init__(self, run: RunCore, call_id: int, child_run_id: str, workflow: str) -> None:
        self._run = run
        self._call_id = call_id
        self.child_run_id = child_run_id
        self.workflow = workflow

    async def result(self) -> Any:
        return await self._run.child_result(self._call_id)

    async def cancel(self, reason: str | None = None) -> None:
        await self._run.new_command("cancel_child", self.workflow, {
            "child_run_id": self.child_run_id, "reason": reason})

    async def status(self) -> str:
        """The child's status as the parent's journal knows it (deterministic)."""
        return self._run.child_status(self._call_id)


class ChildrenMixin(RunCore):
    def init_children(self) -> None:
        self.hook_callbacks: dict[int, Any] = {}
        self.child_results: dict[int, asyncio.Future[Any]] = {}
        self.child_outcomes: dict[int, str] = {}

    def schedule_child(self, workflow: str, args: list[Any], kwargs: dict[str, Any],
                       wait: bool, policy: ParentClosePolicy) -> asyncio.Future[Any]:
        self.checkpoint()
        if self.depth + 1 > MAX_DEPTH:
            raise MaxNestingDepthError(self.depth + 1, MAX_DEPTH)
        call_id = self.next_call_id
        completion = self.loop.create_future()
        completion.add_done_callback(_mark_retrieved)
        self.child_results[call_id] = completion
        self.futures[call_id] = completion  # resolved by child_completed, awaited or not
        return self.new_command("child", workflow, {
            "args": args, "kwargs": kwargs, "wait": wait, "policy": policy.value})

    def emit_child(self, cmd: Command) -> None:
        assert self.ctx is not None
        child_run_id = new_run_id()
        data = {"call_id": cmd.call_id, "workflow": cmd.name, "child_run_id": child_run_id,
                **cmd.payload}
        self.emit("child_started", data)
        self.ctx.effect(Send(child_run_id, "start", {
            "workflow": cmd.name, "args": cmd.payload["args"], "kwargs": cmd.payload["kwargs"],
            "parent": {"run_id": self.run_id, "call_id": cmd.call_id},
            "depth": self.depth + 1}, msg_id=start_message_id(child_run_id)))
        self.child_matched(cmd, data)

    def child_matched(self, cmd: Command, data: dict[str, Any]) -> None:
        handle = ChildWorkflowHandle(self, cmd.call_id, data["child_run_id"], cmd.name)
        if cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(handle)
            self._run()

    def emit_cancel_child(self, cmd: Command) -> None:
        assert self.ctx is not None
        self.emit("child_cancel_requested", {"call_id": cmd.call_id, "workflow": cmd.name,
                                             "child_run_id": cmd.payload["child_run_id"]})
        self.ctx.effect(Send(cmd.payload["child_run_id"], "cancel",
                             {"reason": cmd.payload.get("reason"), "force": True},
                             msg_id=f"{self.run_id}:cancel-child:{cmd.call_id}"))
        if cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(None)
            self._run()

    async def child_result(self, call_id: int) -> Any:
        future = self.child_results[call_id]
        if not future.done():
            self.checkpoint()
        return await future

    def child_status(self, call_id: int) -> str:
        return self.child_outcomes.get(call_id, "running")

    def child_finished(self, payload: dict[str, Any]) -> None:
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.kind != "child" or call.state == "done" \
                or call.data.get("child_run_id") != payload.get("child_run_id"):
            return
        base = {"call_id": call.call_id, "workflow": call.name,
                "child_run_id": payload["child_run_id"], "status": payload.get("status")}
        if payload.get("status") == "completed":
            data = {**base, "result": payload.get("result")}
            self.emit("child_completed", data)
            self.resolve("child_completed", data)
        else:
            error = payload.get("error") or {}
            data = {**base, "error_type": error.get("type", payload.get("status")),
                    "error": error.get("message", "")}
            self.emit("child_failed", data)
            self.resolve("child_failed", data)

    def child_outcome(self, etype: str, data: dict[str, Any]) -> tuple[str, Any] | None:
        if etype == "child_completed":
            self.child_outcomes[data["call_id"]] = "completed"
            return "value", serialization.decode(data.get("result"))
        if etype == "child_failed":
            self.child_outcomes[data["call_id"]] = data.get("status") or "failed"
            return "error", ChildWorkflowFailedError(
                data["child_run_id"], data.get("workflow", "?"), data.get("error_type", "?"),
                data.get("error", ""))
        return None

    def close_children(self) -> None:
        """Apply each still-running child's parent-close policy as the parent ends."""
        assert self.ctx is not None
        for call in list(self.history.open.values()):
            if call.kind != "child" or call.state == "done":
                continue
            policy = call.data.get("policy", ParentClosePolicy.TERMINATE.value)
            if policy == ParentClosePolicy.ABANDON.value:
                continue
            self.ctx.effect(Send(call.data["child_run_id"], "cancel", {
                "reason": f"parent {self.run_id} ended",
                "force": policy == ParentClosePolicy.TERMINATE.value},
                msg_id=f"{self.run_id}:close-child:{call.call_id}"))

    def notify_parent(self, status: str, result: Any,
                      error: dict[str, Any] | None) -> None:
        if not self.parent or self.ctx is None:
            return
        self.ctx.effect(Send(self.parent["run_id"], "child-completed", {
            "call_id": self.parent["call_id"], "child_run_id": self.run_id, "status": status,
            "result": result, "error": error}, msg_id=f"{self.run_id}:done"))

    def index_child_run(self) -> None:
        from ._runtime import runtime

        rt = runtime()
        rt.redis.zadd(runs_index(rt.settings.key_prefix), {self.run_id: time.time()})


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    """A fire-and-forget child's failure is recorded in the journal; asyncio need not
    warn that nobody awaited it."""
    if not future.cancelled():
        future.exception()
