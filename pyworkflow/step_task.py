"""The Celery task that runs one attempt of one step, on any worker.

The outcome goes back to the run as a mailbox message whose ``msg_id`` names the
attempt, so a redelivered task reports the same message and the run records it
once. The report activates the run *in place*: if this worker wins the run's
activation it handles the turn right here and dispatches the next step, so a
step costs one Celery hop, not two.
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from typing import Any

from celery import signals

from actors import Message
from actors import log as _log

from . import serialization
from .errors import RetryableError, StepTimeoutError
from .registry import get_step
from .step_context import StepContext, reset_step_context, set_step_context
from .step_leases import StepLeases

logger = _log.get_logger("pyworkflow.step")


def _call(fn: Any, args: list[Any], kwargs: dict[str, Any], timeout: float | None,
          ctx: StepContext) -> Any:
    def invoke() -> Any:
        token = set_step_context(ctx)
        try:
            if asyncio.iscoroutinefunction(fn):
                return asyncio.run(fn(*args, **kwargs))
            return fn(*args, **kwargs)
        finally:
            reset_step_context(token)

    if timeout is None:
        return invoke()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = invoke()
        except BaseException as exc:  # re-raised in the task's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"step-{ctx.step}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise StepTimeoutError(f"step {ctx.step!r} ran longer than its timeout of {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def run_step(system: Any, leases: StepLeases, run_id: str, call_id: int, step: str,
             attempt: int, args: list[Any], kwargs: dict[str, Any],
             timeout: float | None = None) -> None:
    ctx = StepContext(run_id, call_id, step, attempt)
    log = logger.bind(run_id=run_id, step=step, call_id=call_id, attempt=attempt)
    member, verdict = leases.hold(run_id, call_id, attempt)
    if verdict == "dead":
        log.info("skipping a redelivered step attempt already reported lost")
        return
    if verdict == "restarted":
        # This attempt already ran and its worker died (the broker handed the task
        # back): report it lost rather than run it again, so work that kills its
        # worker is retried per policy and stopped by the poison limit. Unless the step
        # had finished: its result, held in hand by the turn that died after it, is
        # still in the run's in-hand slot and is what the run must get.
        leases.drop(member)
        result_id = f"{run_id}:{call_id}:{attempt}:result"
        held = system.redis.get(system.actor_keys(run_id).inhand)
        if held:
            message = Message.decode(held)
            if message.msg_id == result_id:
                log.info("the step had finished before its worker died; delivering its result")
                system.deliver(message)
                return
        leases.report_lost(system, member)
        return
    payload: dict[str, Any] = {"call_id": call_id, "attempt": attempt}
    started = time.monotonic()
    try:
        defn = get_step(step)
        if defn is None:
            raise LookupError(f"step {step!r} is not registered on this worker")
        result = _call(defn.fn, serialization.decode(args), serialization.decode(kwargs),
                       timeout, ctx)
        payload.update(ok=True, result=serialization.encode(result, path=f"{step} result"))
        log.debug("step completed", seconds=round(time.monotonic() - started, 4))
    except Exception as exc:
        payload.update(ok=False, error_type=type(exc).__name__, error=str(exc),
                       traceback="".join(traceback.format_exception(exc)))
        if isinstance(exc, RetryableError):
            payload["retry_at_ms"] = exc.retry_after_ms(int(time.time() * 1000))
        log.warning("step failed", error_type=type(exc).__name__, error=str(exc))
    kind = "step-completed" if payload["ok"] else "step-failed"
    system.deliver(Message(kind=kind, actor_id=run_id, payload=payload,
                           msg_id=f"{run_id}:{call_id}:{attempt}:result"), inline=True)
    leases.drop(member)


def install(app: Any, system: Any, leases: StepLeases) -> None:
    @app.task(name="pyworkflow.step", acks_late=True, reject_on_worker_lost=True,
              ignore_result=True)
    def step_task(run_id: str, call_id: int, step: str, attempt: int, args: list[Any],
                  kwargs: dict[str, Any], timeout: float | None = None) -> None:
        run_step(system, leases, run_id, call_id, step, attempt, args, kwargs, timeout)

    system.periodic.append(lambda: leases.recover_lost(system))

    def _received(request: Any = None, **_: Any) -> None:
        if request is not None and request.name == "pyworkflow.step":
            kw = request.kwargs or {}
            try:
                leases.reserve(kw["run_id"], int(kw["call_id"]), int(kw["attempt"]))
            except Exception as exc:  # never lose the task over its lease
                logger.warning("could not reserve a step lease", error=str(exc))

    def _shutting_down(**_: Any) -> None:
        leases.release_reservations()

    signals.task_received.connect(_received, weak=False)
    signals.worker_shutting_down.connect(_shutting_down, weak=False)
