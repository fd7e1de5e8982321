"""Steps: a call dispatched as a Celery task, its attempts, and retries on durable timers.

A step's attempt reports back as ``step-completed`` / ``step-failed`` (whoever
reports it: the step, or the worker that saw its lease expire, under one message
id). A failure is retried per the step's policy after a durable timer (purpose
``retry``); a dispatch the broker lost is sent again (``step-undelivered``); an
attempt whose worker died counts toward the run's worker-loss policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.effects import CancelTimer, EnqueueTask, StartTimer

from ... import events as ev
from ... import ids, serialization
from ...errors import StepFailedError, error_from_record
from ...registry import StepDef
from ...retry import retry_delay_ms
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..history import CallRecord
    from ..run import Run

#: Our error types come back into the workflow as themselves; others as StepFailedError.
OUR_ERRORS = frozenset({"FatalError", "RetryableError", "StepTimeoutError", "CancellationError"})
#: How long a dispatched attempt may wait unclaimed before it counts as lost in transit.
QUEUED_WATCH_MS = 60_000


class StepKind(CommandKind[None]):
    kind = "step"
    resolutions = frozenset({ev.STEP_COMPLETED, ev.STEP_FAILED})

    def schedule(self, run: Run, step: StepDef, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        run.checkpoint()
        payload = {"args": serialization.encode(list(args), path=f"{step.name} args"),
                   "kwargs": serialization.encode(kwargs, path=f"{step.name} kwargs"),
                   "max_attempts": step.max_retries + 1, "retry_delay": step.retry_delay,
                   "timeout": step.timeout}
        return run.new_command(self.kind, step.name, payload)

    def emit(self, run: Run, cmd: Command) -> None:
        data = {"call_id": cmd.call_id, "step": cmd.name, "attempt": 1, **cmd.payload}
        run.emit(ev.STEP_SCHEDULED, data)
        self._dispatch(run, cmd.call_id, cmd.name, data, 1)

    def _dispatch(self, run: Run, call_id: int, name: str, data: dict[str, Any],
                  attempt: int) -> None:
        run.effect(EnqueueTask(
            name=ids.STEP_TASK, task_id=ids.step_task_id(run.run_id, call_id, attempt),
            kwargs={"run_id": run.run_id, "call_id": call_id, "step": name, "attempt": attempt,
                    "args": data.get("args", []), "kwargs": data.get("kwargs", {}),
                    "timeout": data.get("timeout"),
                    **({"trace": run.trace} if run.trace else {})},
            queue=run.ports.queues["steps"], watch_key=run.ports.step_lease_key,
            watch_member=ids.step_attempt(run.run_id, call_id, attempt),
            watch_ms=QUEUED_WATCH_MS))

    def _redispatch(self, run: Run, call: CallRecord, event: str, attempt: int) -> None:
        run.emit(event, {"call_id": call.call_id, "step": call.name, "attempt": attempt})
        self._dispatch(run, call.call_id, call.name, call.data, attempt)

    # -- messages ------------------------------------------------------------------------
    def messages(self) -> dict[str, Handler]:
        return {"step-completed": self.finished, "step-failed": self.finished,
                "step-undelivered": self.undelivered}

    def timers(self) -> dict[str, Handler]:
        return {"retry": self.retry_due}

    def _pending_call(self, run: Run, payload: dict[str, Any]) -> CallRecord | None:
        call = run.history.calls.get(payload.get("call_id", -1))
        if call is None or call.kind != self.kind or call.state != "pending" \
                or call.attempt != payload.get("attempt"):
            return None  # a duplicate or stale report: a step's outcome is recorded once
        return call

    def undelivered(self, run: Run, payload: dict[str, Any]) -> None:
        """A dispatched attempt never reached a worker: send it again, same attempt."""
        call = self._pending_call(run, payload)
        if call is not None:
            self._redispatch(run, call, ev.STEP_REDISPATCHED, call.attempt)

    def finished(self, run: Run, payload: dict[str, Any]) -> None:
        """A step attempt reported back (``step-completed`` or ``step-failed``)."""
        call = self._pending_call(run, payload)
        if call is None:
            return
        base = {"call_id": call.call_id, "step": call.name, "attempt": call.attempt}
        if payload.get("ok"):
            data = {**base, "result": payload.get("result")}
            run.emit(ev.STEP_COMPLETED, data)
            run.resolve(ev.STEP_COMPLETED, data)
            return
        if payload.get("worker_lost") and self._lost(run, call, base, payload):
            return
        retry_at = None if run.history.cancel_requested else self._retry_at(
            run, call.data, call.attempt, payload)
        data = {**base, "error_type": payload.get("error_type", "Exception"),
                "error": payload.get("error", ""), "traceback": payload.get("traceback"),
                "will_retry": retry_at is not None, "retry_at_ms": retry_at,
                "worker_lost": bool(payload.get("worker_lost"))}
        run.emit(ev.STEP_FAILED, data)
        if retry_at is None:
            run.resolve(ev.STEP_FAILED, data)
            return
        run.effect(StartTimer(
            timer_id=ids.retry_timer_id(run.run_id, call.call_id, call.attempt + 1),
            due_ms=retry_at, actor_id=run.run_id, kind="timer-fired",
            payload={"purpose": "retry", "call_id": call.call_id, "attempt": call.attempt + 1}))

    def _lost(self, run: Run, call: CallRecord, base: dict[str, Any],
              payload: dict[str, Any]) -> bool:
        """The attempt's worker died. True when that ended (failed or parked) the run."""
        retries_left = call.attempt < call.data.get("max_attempts", 1)
        decision = run.worker_lost_decision(call.worker_losses + 1, retries_left)
        if decision == "retry":
            return False
        run.emit(ev.STEP_FAILED, {
            **base, "error_type": "WorkerLostError", "error": payload.get("error", ""),
            "traceback": None, "will_retry": False, "retry_at_ms": None, "worker_lost": True,
            "parked": decision == "park", "ends_run": decision == "fail"})
        if decision == "fail":
            run.fail_for_worker_loss(f"step {call.name!r}")
        else:
            run.park({"reason": f"step {call.name!r} lost its worker {call.worker_losses} "
                                "times (poison step?); fix it, then "
                                "`pyworkflow runs retry <run_id>`",
                      "error_type": "PoisonStepError", "call_id": call.call_id})
        return True

    def _retry_at(self, run: Run, step: dict[str, Any], attempt: int,
                  payload: dict[str, Any]) -> int | None:
        if payload.get("error_type") == "FatalError" or attempt >= step.get("max_attempts", 1):
            return None
        if payload.get("retry_at_ms") is not None:
            return max(run.now_ms, int(payload["retry_at_ms"]))
        return run.now_ms + retry_delay_ms(step.get("retry_delay", "exponential"), attempt)

    def retry_due(self, run: Run, payload: dict[str, Any]) -> None:
        call = run.history.calls.get(payload.get("call_id", -1))
        if call is None or call.state != "retry_wait" or payload.get("attempt") != call.attempt + 1:
            return
        self._redispatch(run, call, ev.STEP_RETRYING, call.attempt + 1)

    def outcome(self, run: Run, etype: str, data: dict[str, Any]) -> Outcome:
        if etype == ev.STEP_COMPLETED:
            return "value", serialization.decode(data.get("result"))
        if etype == ev.STEP_FAILED and not data.get("will_retry") \
                and not data.get("parked") and not data.get("ends_run"):
            return "error", _step_error(data)
        return None

    # -- open calls ---------------------------------------------------------------------
    def interrupt(self, run: Run, call: CallRecord) -> bool:
        """A running attempt is not interrupted (its result is recorded when it comes);
        a step waiting to retry stops waiting."""
        if call.state != "retry_wait":
            return False
        run.effect(CancelTimer(ids.retry_timer_id(run.run_id, call.call_id, call.attempt + 1)))
        return True

    def retry_call(self, run: Run, call: CallRecord) -> None:
        self._redispatch(run, call, ev.STEP_RETRYING, call.attempt + 1)


def _step_error(data: dict[str, Any]) -> Exception:
    error_type = data.get("error_type", "Exception")
    if error_type in OUR_ERRORS:
        return error_from_record(error_type, data.get("error", ""))
    return StepFailedError(data.get("step", "?"), error_type, data.get("error", ""),
                           data.get("traceback"), data.get("attempt", 1))
