"""Worker loss, poison work and operator retries.

* A turn task that died mid-turn (its worker was SIGKILLed, or workflow code killed
  it) is noticed by the actor runtime; the run records ``workflow_recovered``.
* A step attempt whose worker died is reported as ``step-failed`` with
  ``worker_lost`` (see the step kind); both count toward the run's policy
  (``Run.worker_lost_decision``).
* ``@workflow(recover_on_worker_loss=False)`` makes any worker loss fail the run.
  Otherwise a run recovers up to ``max_recovery_attempts`` times (default 3); work
  that kills its worker more often is *poison*: the run is parked, stops running
  that code, and waits for an operator's ``runs retry`` (after the code is fixed).
  A parked run records no further recoveries: until an operator acts, turn tasks
  that die on it change nothing in its journal.
* ``runs retry`` resumes a parked run in place (rebuilt with the current code, the
  parked call retried by its kind), or re-opens a failed run from its failed call:
  the failure events are kept in the journal but marked superseded in the run's
  record (``masked``), and the call gets a new attempt.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from actors.effects import Send

from ... import events as ev
from ... import ids, wire
from ...wire import RetryRun
from .base import Handler

if TYPE_CHECKING:
    from ..run import Run
    from .base import CommandKind
    from .slot import SlotGate


class Recovery:
    def __init__(self, kinds: dict[str, CommandKind[Any]], slot_gate: SlotGate) -> None:
        self._kinds = kinds
        #: a retried run that had a concurrency slot takes it back (``slot.py``)
        self._slot_gate = slot_gate

    def messages(self) -> dict[str, Handler]:
        return {"retry": self.retry}

    def recovered(self, run: Run, crashes: int) -> None:
        """Turn tasks of this run died ``crashes`` times since it last knew."""
        if run.history.finished or run.history.started is None:
            return
        if run.history.parked is not None:
            return  # it waits for an operator, not for recovery: no more journal growth
        total = run.history.recoveries + crashes
        run.emit(ev.WORKFLOW_RECOVERED, {"crashes": crashes, "recoveries": total,
                                         "where": "turn"})
        if not run.recovers_on_worker_loss():
            run.fail_for_worker_loss("a turn")
        elif total > run.max_recoveries():
            run.park({"reason": f"the run's turns died {total} times (over the limit of "
                                f"{run.max_recoveries()}): poison workflow code? Fix it, "
                                "then `pyworkflow runs retry <run_id>`",
                      "error_type": "PoisonTurnError"})

    def retry(self, run: Run, request: RetryRun) -> None:
        """An operator's ``runs retry``: resume a parked run, or re-open a failed one."""
        history = run.history
        if history.parked is not None:
            run.emit(ev.WORKFLOW_RESUMED, {"by": "operator"})
            for call in list(history.calls.values()):
                if call.state == "parked":
                    self._kinds[call.kind].retry_call(run, call)
            run.project(status="running", error="null")
            self._rebuild_and_wake(run)
            return
        if history.status != "failed" or history.terminal_seq is None:
            return  # nothing to retry: running, suspended, completed or cancelled
        retry_id = run.turn().current_msg_id
        if retry_id is not None and retry_id in history.retry_ids:
            return  # this very retry, delivered again after the run failed once more
        failed = [c for c in history.calls.values() if c.failed_seq is not None]
        last = max(failed, key=lambda c: c.failed_seq or 0) if failed else None
        masked = sorted(run.masked | {history.terminal_seq} |
                        ({last.failed_seq} if last and last.failed_seq else set()))
        run.emit(ev.RUN_RETRIED, {"by": "operator", "masked": masked,
                                  "call_id": last.call_id if last else None,
                                  "retry_id": retry_id})
        run.masked = set(masked)
        run.project(status="running", error="null", masked=json.dumps(masked))
        self._slot_gate.retake(run)
        if last is not None:
            self._kinds[last.kind].retry_call(run, last)
        self._rebuild_and_wake(run)

    def _rebuild_and_wake(self, run: Run) -> None:
        """Rebuild the run from its journal with the current code after this commit, then
        handle a ``wake`` message: commands the rebuilt code issues past the end of the
        journal are recorded when it is handled."""
        run.turn().request_rebuild()
        run.effect(Send(run.run_id, "wake", wire.encode(wire.Wake()),
                        msg_id=ids.wake_message_id(run.run_id)))
