"""Worker loss, poison work and operator retries inside the replay engine.

* A turn task that died mid-turn (its worker was SIGKILLed, or workflow code killed
  it) is noticed by the actor runtime; the run records ``workflow_recovered``.
* A step attempt whose worker died is reported as ``step-failed`` with
  ``worker_lost`` by whichever worker notices its lease expired.
* ``@workflow(recover_on_worker_loss=False)`` makes any worker loss fail the run.
  Otherwise a run recovers up to ``max_recovery_attempts`` times (default 3); work
  that kills its worker more often is *poison*: the run is parked, stops running
  that code, and waits for an operator's ``runs retry`` (after the code is fixed).
  A parked run records no further recoveries: until an operator acts, turn tasks
  that die on it change nothing in its journal.
* ``runs retry`` resumes a parked run in place (rebuilt with the current code, the
  parked step dispatched again), or re-opens a failed run from its failed step: the
  failure events are kept in the journal but marked superseded in the run's record,
  and the step gets a new attempt.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from actors import Send

from ._run_core import RunCore
from .registry import find_workflow

DEFAULT_MAX_RECOVERY_ATTEMPTS = 3


class RecoveryMixin(RunCore):
    def _options(self) -> dict[str, Any]:
        started = self.history.started or {}
        defn = find_workflow(started.get("workflow", ""))
        return defn.options if defn is not None else {}

    def max_recoveries(self) -> int:
        return int(self._options().get("max_recovery_attempts", DEFAULT_MAX_RECOVERY_ATTEMPTS))

    def recovers_on_worker_loss(self) -> bool:
        return bool(self._options().get("recover_on_worker_loss", True))

    def park(self, data: dict[str, Any]) -> dict[str, Any]:
        """Stop the run for an operator: recorded, visible in its status, code not run."""
        self.emit("workflow_parked", data)
        assert self.ctx is not None
        error = {"type": data["error_type"], "message": data["reason"], "traceback": None}
        self.ctx.project(status="parked", error=json.dumps(error), updated_at=repr(time.time()))
        return error

    def fail_for_worker_loss(self, where: str) -> None:
        assert self.ctx is not None
        reason = (f"a worker was lost during {where} and this workflow is declared "
                  "recover_on_worker_loss=False")
        payload = {"error_type": "WorkerLostError", "error": reason, "traceback": None,
                   "forced": True}
        self.emit("workflow_failed", payload)
        error = {"type": "WorkerLostError", "message": reason, "traceback": None}
        now = repr(time.time())
        self.ctx.project(status="failed", error=json.dumps(error), updated_at=now,
                         finished_at=now, waiting_on="[]")
        self.close_children()
        self.notify_parent("failed", None, error)

    def on_recovered(self, crashes: int) -> None:
        """Turn tasks of this run died ``crashes`` times since it last knew."""
        if self.history.finished or self.history.started is None:
            return
        if self.history.parked is not None:
            # Parked: it waits for an operator (``runs retry``), not for recovery. Counting
            # and recording more crashes would only grow the journal while it waits.
            return
        total = self.history.recoveries + crashes
        self.emit("workflow_recovered", {"crashes": crashes, "recoveries": total,
                                         "where": "turn"})
        if not self.recovers_on_worker_loss():
            self.fail_for_worker_loss("a turn")
        elif total > self.max_recoveries() and self.history.parked is None:
            self.park({"reason": f"the run's turns died {total} times (over the limit of "
                                 f"{self.max_recoveries()}): poison workflow code? Fix it, "
                                 "then `pyworkflow runs retry <run_id>`",
                       "error_type": "PoisonTurnError"})

    def step_lost_decision(self, call_losses: int, retries_left: bool) -> str:
        """For a step attempt whose worker died: 'fail' the run, 'park' it, or 'retry'."""
        if not self.recovers_on_worker_loss():
            return "fail"
        if call_losses >= self.max_recoveries() or not retries_left:
            return "park"
        return "retry"

    def retry(self, payload: dict[str, Any]) -> None:
        """An operator's ``runs retry``: resume a parked run, or re-open a failed one."""
        assert self.ctx is not None
        if self.history.parked is not None:
            self.emit("workflow_resumed", {"by": "operator"})
            for call in self.history.calls.values():
                if call.state == "parked":
                    self.emit("step_retrying", {"call_id": call.call_id, "step": call.name,
                                                "attempt": call.attempt + 1})
                    self.dispatch_step(call.call_id, call.name, call.data, call.attempt)
            self.ctx.project(status="running", error="null")
            self._rebuild_and_wake()
            return
        if self.history.status != "failed" or self.history.terminal_seq is None:
            return  # nothing to retry: running, suspended, completed or cancelled
        failed = [c for c in self.history.calls.values() if c.failed_seq is not None]
        last = max(failed, key=lambda c: c.failed_seq or 0) if failed else None
        masked = sorted(self.masked | {self.history.terminal_seq} |
                        ({last.failed_seq} if last and last.failed_seq else set()))
        self.emit("run_retried", {"by": "operator", "masked": masked,
                                  "call_id": last.call_id if last else None})
        self.masked = set(masked)
        self.ctx.project(status="running", error="null", masked=json.dumps(masked))
        if last is not None:
            self.emit("step_retrying", {"call_id": last.call_id, "step": last.name,
                                        "attempt": last.attempt + 1})
            self.dispatch_step(last.call_id, last.name, last.data, last.attempt)
        self._rebuild_and_wake()

    def _rebuild_and_wake(self) -> None:
        """Rebuild the run from its journal with the current code after this commit, then
        handle a ``wake`` message: commands the rebuilt code issues past the end of the
        journal are recorded when it is handled."""
        assert self.ctx is not None
        self.ctx.request_rebuild()
        wake_id = f"{self.run_id}:wake:{uuid.uuid4().hex}"
        self.ctx.effect(Send(self.run_id, "wake", {}, msg_id=wake_id))
