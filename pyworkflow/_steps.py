"""Steps inside the replay engine: scheduling, results, retries on durable timers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors import EnqueueTask, StartTimer

from . import serialization
from ._run_core import RunCore
from .errors import StepFailedError, error_from_record
from .registry import StepDef
from .retry import retry_delay_ms
from .step_leases import QUEUED_MS, step_lease_member

if TYPE_CHECKING:
    import asyncio

    from ._replayer import Command

STEP_TASK = "pyworkflow.step"
#: Our error types come back into the workflow as themselves; others as StepFailedError.
OUR_ERRORS = {"FatalError", "RetryableError", "StepTimeoutError", "CancellationError"}


class StepsMixin(RunCore):
    def schedule_step(self, step: StepDef, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        self.checkpoint()
        payload = {"args": serialization.encode(list(args), path=f"{step.name} args"),
                   "kwargs": serialization.encode(kwargs, path=f"{step.name} kwargs"),
                   "max_attempts": step.max_retries + 1, "retry_delay": step.retry_delay,
                   "timeout": step.timeout}
        return self.new_command("step", step.name, payload)

    def emit_step(self, cmd: Command) -> None:
        data = {"call_id": cmd.call_id, "step": cmd.name, "attempt": 1, **cmd.payload}
        self.emit("step_scheduled", data)
        self.dispatch_step(cmd.call_id, cmd.name, data, 1)

    def dispatch_step(self, call_id: int, name: str, data: dict[str, Any],
                      attempt: int) -> None:
        assert self.ctx is not None
        self.ctx.effect(EnqueueTask(
            name=STEP_TASK, task_id=f"{self.run_id}:{call_id}:{attempt}",
            kwargs={"run_id": self.run_id, "call_id": call_id, "step": name, "attempt": attempt,
                    "args": data.get("args", []), "kwargs": data.get("kwargs", {}),
                    "timeout": data.get("timeout")},
            queue=self.queues["steps"], watch_key=self.step_lease_key,
            watch_member=step_lease_member(self.run_id, call_id, attempt), watch_ms=QUEUED_MS))

    def step_undelivered(self, payload: dict[str, Any]) -> None:
        """A dispatched attempt never reached a worker: send it again, same attempt."""
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.kind != "step" or call.state != "pending" \
                or call.attempt != payload.get("attempt"):
            return
        self.emit("step_redispatched", {"call_id": call.call_id, "step": call.name,
                                        "attempt": call.attempt})
        self.dispatch_step(call.call_id, call.name, call.data, call.attempt)

    def step_finished(self, payload: dict[str, Any]) -> None:
        """A step attempt reported back (``step-completed`` or ``step-failed``)."""
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.kind != "step" or call.state != "pending" \
                or call.attempt != payload.get("attempt"):
            return  # a duplicate or stale report: a step's outcome is recorded once
        base = {"call_id": call.call_id, "step": call.name, "attempt": call.attempt}
        if payload.get("ok"):
            data = {**base, "result": payload.get("result")}
            self.emit("step_completed", data)
            self.resolve("step_completed", data)
            return
        if payload.get("worker_lost") and self._step_lost(call, base, payload):
            return
        retry_at = None if self.history.cancel_requested else self._retry_at(
            call.data, call.attempt, payload)
        data = {**base, "error_type": payload.get("error_type", "Exception"),
                "error": payload.get("error", ""), "traceback": payload.get("traceback"),
                "will_retry": retry_at is not None, "retry_at_ms": retry_at,
                "worker_lost": bool(payload.get("worker_lost"))}
        self.emit("step_failed", data)
        if retry_at is None:
            self.resolve("step_failed", data)
            return
        assert self.ctx is not None
        self.ctx.effect(StartTimer(
            timer_id=self.retry_timer_id(call.call_id, call.attempt + 1), due_ms=retry_at,
            actor_id=self.run_id, kind="timer-fired",
            payload={"purpose": "retry", "call_id": call.call_id, "attempt": call.attempt + 1}))

    def _step_lost(self, call: Any, base: dict[str, Any], payload: dict[str, Any]) -> bool:
        """The attempt's worker died. True when that ended (failed or parked) the run."""
        retries_left = call.attempt < call.data.get("max_attempts", 1)
        decision = self.step_lost_decision(call.worker_losses + 1, retries_left)
        if decision == "retry":
            return False
        data = {**base, "error_type": "WorkerLostError", "error": payload.get("error", ""),
                "traceback": None, "will_retry": False, "retry_at_ms": None,
                "worker_lost": True, "parked": decision == "park", "ends_run": decision == "fail"}
        self.emit("step_failed", data)
        if decision == "fail":
            self.fail_for_worker_loss(f"step {call.name!r}")
        else:
            self.park({"reason": f"step {call.name!r} lost its worker {call.worker_losses} "
                                 "times (poison step?); fix it, then "
                                 "`pyworkflow runs retry <run_id>`",
                       "error_type": "PoisonStepError", "call_id": call.call_id})
        return True

    def retry_timer_id(self, call_id: int, attempt: int) -> str:
        return f"{self.run_id}:retry:{call_id}:{attempt}"

    def _retry_at(self, step: dict[str, Any], attempt: int,
                  payload: dict[str, Any]) -> int | None:
        if payload.get("error_type") == "FatalError" or attempt >= step.get("max_attempts", 1):
            return None
        if payload.get("retry_at_ms") is not None:
            return max(self.now_ms, int(payload["retry_at_ms"]))
        return self.now_ms + retry_delay_ms(step.get("retry_delay", "exponential"), attempt)

    def retry_due(self, payload: dict[str, Any]) -> None:
        call = self.history.calls.get(payload.get("call_id", -1))
        if call is None or call.state != "retry_wait" or payload.get("attempt") != call.attempt + 1:
            return
        self.emit("step_retrying", {"call_id": call.call_id, "step": call.name,
                                    "attempt": call.attempt + 1})
        self.dispatch_step(call.call_id, call.name, call.data, call.attempt)

    def step_outcome(self, etype: str, data: dict[str, Any]) -> tuple[str, Any] | None:
        if etype == "step_completed":
            return "value", serialization.decode(data.get("result"))
        if etype == "step_failed" and not data.get("will_retry") \
                and not data.get("parked") and not data.get("ends_run"):
            return "error", _step_error(data)
        return None


def _step_error(data: dict[str, Any]) -> Exception:
    error_type = data.get("error_type", "Exception")
    if error_type in OUR_ERRORS:
        return error_from_record(error_type, data.get("error", ""))
    return StepFailedError(data.get("step", "?"), error_type, data.get("error", ""),
                           data.get("traceback"), data.get("attempt", 1))
