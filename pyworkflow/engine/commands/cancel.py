"""Cancellation: a ``cancel`` message, then ``cancel_requested`` in the journal.

From that event on, every checkpoint (the start of a step, sleep, hook or child
wait) raises ``CancellationError`` in the workflow, except inside ``shield()``
(``Run.checkpoint``). Calls already waiting are offered to their kind
(``interrupt``): sleeps, hooks, retry waits and child waits stop at once
(``wait_cancelled``) so the workflow wakes to run its cleanup; a running step is not
interrupted, its result is recorded when it arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import events as ev
from ...wire import CancelRun, TimerFired
from .base import Handler

if TYPE_CHECKING:
    from ..run import Run
    from .base import CommandKind
    from .slot import SlotGate


class Cancellation:
    def __init__(self, kinds: dict[str, CommandKind[Any]], slot_gate: SlotGate) -> None:
        self._kinds = kinds
        #: a run waiting for a concurrency slot ends at once (it has no code to clean up)
        self._slot_gate = slot_gate

    def messages(self) -> dict[str, Handler]:
        return {"cancel": self.cancel}

    def timers(self) -> dict[str, Handler]:
        return {"run-timeout": self.timed_out}

    def timed_out(self, run: Run, timer: TimerFired) -> None:
        """The run's deadline passed: cancel it (its shielded cleanup runs); it then ends
        failed with ``WorkflowTimeoutError`` rather than cancelled."""
        limit = run.options().get("max_duration")
        why = f"max_duration {limit} exceeded" if limit else "its parent's deadline passed"
        self.cancel(run, CancelRun(reason=f"the run timed out: {why}", force=True,
                                   timed_out=True))

    def cancel(self, run: Run, request: CancelRun) -> None:
        if run.history.cancel_requested or run.history.finished:
            return
        data: dict[str, Any] = {"reason": request.reason, "force": request.force}
        if request.timed_out:
            data["timed_out"] = True
        run.emit(ev.CANCEL_REQUESTED, data)
        if self._slot_gate.cancel_waiting(run, request.reason):
            return
        # Steps already running read this (``get_step_context().check_cancellation()``).
        run.project(cancel_requested="1")
        for call in list(run.history.open_calls()):
            if run.history.finished:
                break  # the workflow already ended while handling an earlier interruption
            if not self._kinds[call.kind].interrupt(run, call):
                continue
            data = {"call_id": call.call_id, "kind": call.kind}
            run.emit(ev.WAIT_CANCELLED, data)
            run.resolve(ev.WAIT_CANCELLED, data)
        if run.task is None and not run.history.finished and run.history.started is None:
            return
        run.project(status=run.history.live_status())
