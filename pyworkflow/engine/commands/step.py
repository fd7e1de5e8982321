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
from ...errors import step_error
from ...registry import StepDef
from ...retry import next_attempt_ms
from ...routing import broker_priority, celery_queues
from ...wire import StepAttempt, StepOutcome, StepUndelivered, TimerFired, encode
from .base import CommandKind, Handler, Outcome

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..history import CallRecord
    from ..ports import Ports
    from ..run import Run


def step_route(ports: Ports, run_id: str, queue: str | None) -> tuple[str, int | None]:
    """The Celery queue and broker priority of a step attempt: the step's own queue, else
    its run's; its run's priority (``pyworkflow.routing``)."""
    route = ids.run_route(run_id)
    priority = broker_priority(route.priority)
    if ports.queue_prefix is None:
        return ports.queues["steps"], priority
    return celery_queues(ports.queue_prefix, queue or route.queue)["steps"], priority


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
        if step.queue is not None:  # journaled: a retry goes where the first attempt went
            payload["queue"] = step.queue
        return run.new_command(self.kind, step.name, payload)

    def emit(self, run: Run, cmd: Command) -> None:
        data = {"call_id": cmd.call_id, "step": cmd.name, "attempt": 1, **cmd.payload}
        run.emit(ev.STEP_SCHEDULED, data)
        self._dispatch(run, cmd.call_id, cmd.name, data, 1)

    def _dispatch(self, run: Run, call_id: int, name: str, data: dict[str, Any],
                  attempt: int) -> None:
        task = StepAttempt(run_id=run.run_id, call_id=call_id, step=name, attempt=attempt,
                           args=data.get("args", []), kwargs=data.get("kwargs", {}),
                           timeout=data.get("timeout"), trace=run.trace or None,
                           workflow=(run.history.started or {}).get("workflow"))
        queue, priority = step_route(run.ports, run.run_id, data.get("queue"))
        run.effect(EnqueueTask(
            name=ids.STEP_TASK, task_id=ids.step_task_id(run.run_id, call_id, attempt),
            kwargs=encode(task), queue=queue, priority=priority,
            watch_key=run.ports.step_lease_key,
            watch_member=ids.step_attempt(run.run_id, call_id, attempt),
            watch_ms=run.ports.dispatch_watch_ms))

    def _redispatch(self, run: Run, call: CallRecord, event: str, attempt: int) -> None:
        run.emit(event, {"call_id": call.call_id, "step": call.name, "attempt": attempt})
        self._dispatch(run, call.call_id, call.name, call.data, attempt)

    # -- messages ------------------------------------------------------------------------
    def messages(self) -> dict[str, Handler]:
        return {"step-completed": self.finished, "step-failed": self.finished,
                "step-undelivered": self.undelivered}

    def timers(self) -> dict[str, Handler]:
        return {"retry": self.retry_due, "rate-limit": self.rate_due}

    def _pending_call(self, run: Run, call_id: int, attempt: int) -> CallRecord | None:
        call = run.history.calls.get(call_id)
        if call is None or call.kind != self.kind or call.state != "pending" \
                or call.attempt != attempt:
            return None  # a duplicate or stale report: a step's outcome is recorded once
        return call

    def undelivered(self, run: Run, report: StepUndelivered) -> None:
        """A dispatched attempt never reached a worker: send it again, same attempt."""
        call = self._pending_call(run, report.call_id, report.attempt)
        if call is not None:
            self._redispatch(run, call, ev.STEP_REDISPATCHED, call.attempt)

    def finished(self, run: Run, outcome: StepOutcome) -> None:
        """A step attempt reported back (``step-completed`` or ``step-failed``)."""
        call = self._pending_call(run, outcome.call_id, outcome.attempt)
        if call is None:
            return
        base = {"call_id": call.call_id, "step": call.name, "attempt": call.attempt}
        if outcome.ok:
            data = {**base, "result": outcome.result}
            run.emit(ev.STEP_COMPLETED, data)
            run.resolve(ev.STEP_COMPLETED, data)
            return
        if outcome.worker_lost and self._lost(run, call, base, outcome):
            return
        failure = outcome.failure
        retry_at = None if run.history.cancel_requested else next_attempt_ms(
            failure, call.attempt, call.data.get("max_attempts", 1),
            call.data.get("retry_delay", "exponential"), run.now_ms)
        data = {**base, "error_type": failure.error_type, "error": failure.error,
                "error_class": failure.error_class, "fatal": failure.fatal,
                "traceback": failure.traceback,
                "will_retry": retry_at is not None, "retry_at_ms": retry_at,
                "worker_lost": bool(outcome.worker_lost)}
        run.emit(ev.STEP_FAILED, data)
        if retry_at is None:
            run.resolve(ev.STEP_FAILED, data)
            return
        run.effect(StartTimer(
            timer_id=ids.retry_timer_id(run.run_id, call.call_id, call.attempt + 1),
            due_ms=retry_at, actor_id=run.run_id, kind="timer-fired",
            payload=encode(TimerFired("retry", call.call_id, call.attempt + 1))))

    def _lost(self, run: Run, call: CallRecord, base: dict[str, Any],
              outcome: StepOutcome) -> bool:
        """The attempt's worker died. True when that ended (failed or parked) the run."""
        retries_left = call.attempt < call.data.get("max_attempts", 1)
        decision = run.worker_lost_decision(call.worker_losses + 1, retries_left)
        if decision == "retry":
            return False
        run.emit(ev.STEP_FAILED, {
            **base, "error_type": "WorkerLostError", "error": outcome.error or "",
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

    def rate_due(self, run: Run, timer: TimerFired) -> None:
        """A step's rate limit deferred this attempt to now (``pyworkflow.flow``): send it
        again, same attempt; it holds its reserved start."""
        call = self._pending_call(run, timer.call_id if timer.call_id is not None else -1,
                                  timer.attempt or 0)
        if call is not None:
            self._redispatch(run, call, ev.STEP_REDISPATCHED, call.attempt)

    def retry_due(self, run: Run, timer: TimerFired) -> None:
        call = run.history.calls.get(timer.call_id if timer.call_id is not None else -1)
        if call is None or call.state != "retry_wait" or timer.attempt != call.attempt + 1:
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
    return step_error(data.get("step", "?"), data.get("error_type", "Exception"),
                      data.get("error", ""), error_class=data.get("error_class"),
                      traceback=data.get("traceback"), fatal=bool(data.get("fatal")),
                      attempts=data.get("attempt", 1))
