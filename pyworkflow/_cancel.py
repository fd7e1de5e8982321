"""Cancellation inside the replay engine: checkpoints, interrupted waits, shield().

A cancel is a message and then an event (``cancel_requested``) in the run's journal.
From that event on, every checkpoint (the start of a step, sleep, hook or child
wait) raises ``CancellationError`` in the workflow, except inside ``shield()``;
sleeps, hooks, retry waits and child waits already in progress are interrupted at
once (``wait_cancelled``) so the workflow wakes to run its cleanup. A step that is
running is not interrupted: its result is recorded when it arrives.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator
from typing import Any

from actors import CancelTimer

from ._run_core import RunCore
from ._waits import WaitsMixin
from .errors import CancellationError

_shield_depth: contextvars.ContextVar[int] = contextvars.ContextVar("pyworkflow_shield",
                                                                    default=0)


@contextlib.asynccontextmanager
async def shield() -> AsyncIterator[None]:
    """Run cleanup (steps, sleeps) normally even though the run is being cancelled."""
    token = _shield_depth.set(_shield_depth.get() + 1)
    try:
        yield
    finally:
        _shield_depth.reset(token)


class CancelMixin(RunCore):
    def shielded(self) -> bool:
        return _shield_depth.get() > 0

    def checkpoint(self) -> None:
        if self.history.cancel_requested and not self.shielded():
            raise CancellationError(self.history.cancel_reason)

    def cancel(self, payload: dict[str, Any]) -> None:
        if self.history.cancel_requested or self.history.finished:
            return
        self.emit("cancel_requested", {"reason": payload.get("reason"),
                                       "force": bool(payload.get("force", True))})
        assert self.ctx is not None
        for call in list(self.history.open_calls()):
            if self.history.finished:
                break  # the workflow already ended while handling an earlier interruption
            interruptible = (call.kind in ("sleep", "hook") and not call.data.get("shielded")) \
                or call.kind == "child" \
                or call.kind == "step" and call.state == "retry_wait"
            if not interruptible:
                continue
            if call.kind in ("sleep", "hook"):
                self.ctx.effect(CancelTimer(self.wait_timer_id(call.call_id)))
            if call.kind == "hook":
                assert isinstance(self, WaitsMixin)  # the replayer is made of both mixins
                if not self.settle_hook(call, "cancelled"):
                    continue  # a delivery was accepted before the cancel: its payload counts
            if call.kind == "step":
                self.ctx.effect(CancelTimer(self.retry_timer_id(call.call_id, call.attempt + 1)))
            data = {"call_id": call.call_id, "kind": call.kind}
            self.emit("wait_cancelled", data)
            self.resolve("wait_cancelled", data)
        if self.task is None and not self.history.finished and self.history.started is None:
            return
        self.ctx.project(status=self.history.live_status())
