"""The Celery task that runs one attempt of one step, on any worker.

The outcome goes back to the run as a mailbox message whose ``msg_id`` names the
attempt, so a redelivered task reports the same message and the run records it
once. The report activates the run *in place*: if this worker wins the run's
activation it handles the turn right here and dispatches the next step, so a
step costs one Celery hop, not two.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from celery import current_app, signals
from celery.exceptions import SoftTimeLimitExceeded
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors import Message
from actors import log as _log
from actors.fast.conditional_writes import ConditionalWrites
from actors.fast.in_place import KeptTask
from actors.outages import OUTAGES

from .. import serialization
from ..flow import step_gate
from ..ids import STEP_TASK, step_attempt, step_result_message_id, step_task_id
from ..registry import get_step
from ..routing import need_step
from ..step_attempt import Attempt, failure_of
from ..step_context import CancelWatch, StepContext
from ..step_timeout import run_body, timed_out
from ..tracing import step_outcome, step_span
from ..wire import StepAttempt, StepOutcome, WireError, decode, encode
from .app_log_store import append_app_log
from .hand_back import HandBack
from .step_leases import StepLeases
from .step_metrics import record_attempt
from .step_time_limits import StepRequest, soft_limit_armed

logger = _log.get_logger(STEP_TASK)


def _report(system: Any, run_id: str, outcome: StepOutcome, inline: bool,
            with_release: Any = None) -> bool:
    """The attempt's one outcome message; its id names the attempt, so a second report
    of the same attempt (a redelivery, a hard-limit kill racing a late finish) is dropped.
    True when the run's turn handled it right here (``with_release`` was sent)."""
    msg_id = step_result_message_id(run_id, outcome.call_id, outcome.attempt)
    return bool(system.deliver(
        Message(kind=outcome.kind, actor_id=run_id, payload=encode(outcome), msg_id=msg_id),
        inline=inline, with_release=with_release))


def _cancel_probe(system: Any, run_id: str) -> Any:
    """Reads the ``cancel_requested`` field a cancel projects onto the run's record."""
    record = system.actor_keys(run_id).record
    return lambda: system.redis.hget(record, "cancel_requested") == b"1"


def run_step(system: Any, leases: StepLeases, task: StepAttempt,
             prepared: list[Any] | None = None) -> None:
    """``prepared``: the lease was taken in the commit of the turn that kept this attempt
    to run here (``StepLeases.hold_writes``); these are those writes' replies."""
    run_id, call_id, step, attempt = task.run_id, task.call_id, task.step, task.attempt
    ctx = StepContext(run_id, call_id, step, attempt, CancelWatch(_cancel_probe(system, run_id)),
                      workflow=task.workflow)
    log = logger.bind(run_id=run_id, step=step, call_id=call_id, attempt=attempt)
    if prepared is not None:
        member, verdict = leases.held(run_id, call_id, attempt, prepared)
        deferred = system.in_place.take_deferred()
        if deferred is not None:  # nothing to ride on: a round trip of their own
            deferred.run()
    else:
        member, verdict = leases.hold(run_id, call_id, attempt,
                                      before=system.in_place.take_deferred())
    if verdict == "dead":
        log.info("skipping a redelivered step attempt already reported lost")
        return
    if verdict == "restarted":
        # This attempt already ran and its worker died (the broker handed the task
        # back): report it lost rather than run it again, so work that kills its
        # worker is retried per policy and stopped by the poison limit (unless it had
        # finished: see ``report_lost``).
        leases.drop(member)
        leases.report_lost(system, member)
        return
    gate = step_gate.current()
    ticket = True if gate is None else gate.admit(get_step(step), task, member)
    if ticket is None:  # it waits for a concurrency slot, or its rate limit deferred it
        return
    try:
        _attempt(system, leases, task, member, ctx, log)
    finally:
        if gate is not None and ticket is not True:
            gate.done(ticket)


def _attempt(system: Any, leases: StepLeases, task: StepAttempt, member: str,
             ctx: StepContext, log: Any) -> None:
    """Run the attempt admitted by ``run_step`` and report its outcome."""
    run_id, call_id, step, attempt = task.run_id, task.call_id, task.step, task.attempt
    args, kwargs, timeout, trace = task.args or [], task.kwargs or {}, task.timeout, task.trace
    started = time.monotonic()
    with step_span(trace, run_id, step, call_id, attempt) as span:
        with Attempt(ctx, _now_ms) as frame:
            defn = get_step(step)
            if defn is None:
                raise LookupError(f"step {step!r} is not registered on this worker")
            frame.succeed(run_body(defn.fn, serialization.decode(args),
                                   serialization.decode(kwargs), timeout, step,
                                   guard=soft_limit_armed, stopped=(SoftTimeLimitExceeded,)))
        outcome = frame.outcome
        if outcome.ok:
            log.debug("step completed", seconds=round(time.monotonic() - started, 4))
        else:
            log.warning("step failed", error_type=outcome.error_type, error=outcome.error,
                        fatal=outcome.fatal)
        step_outcome(span, outcome.ok, outcome.error_type, outcome.error)
    _keep_app_log(system, run_id, frame.log_lines)
    # Reported after the span ends: the run's next turn may run right here (in place).
    # The lease's end may be late (see ``StepLeases.drop``): when the run's turn runs
    # here, it goes with that turn's release.
    handled_here = _report(system, run_id, outcome, inline=_turns_read_here(system, run_id),
                           with_release=leases.drop_in_pipe(member))
    leases.drop(member, later=system.in_place, sent=handled_here)
    _count(system, step, outcome.ok, time.monotonic() - started)


def _keep_app_log(system: Any, run_id: str, lines: list[Any]) -> None:
    """What the attempt logged, into the run's app log: one round trip, and none when it
    logged nothing. Never fails the step (the worker's own log has the lines too)."""
    if not lines:
        return
    try:
        append_app_log(system.redis, system.prefix, run_id, lines, system.actor_keys(run_id))
    except (RedisConnectionError, RedisTimeoutError) as exc:
        logger.warning("a step's log lines not kept in its run's app log", run_id=run_id,
                       lines=len(lines), error=str(exc))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _count(system: Any, step: str, ok: bool, seconds: float) -> None:
    """Step counters for ``/metrics`` (into the process's counter buffer); never fails
    the step."""
    try:
        record_attempt(system.redis, system.prefix, step, "completed" if ok else "failed",
                       seconds)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        logger.debug("step counters not written", error=str(exc))


def report_hard_limit(system: Any, leases: StepLeases, kwargs: dict[str, Any],
                      hard_limit: float) -> None:
    """In the worker's main process: the attempt's process was killed at its hard time
    limit, so it cannot report; report the timeout for it and release its lease."""
    task = decode(StepAttempt, kwargs)
    error = timed_out(task.step, task.timeout,
                       f"killed at its hard time limit of {hard_limit}s")
    logger.warning("step killed at its hard time limit", run_id=task.run_id, step=task.step,
                   call_id=task.call_id, attempt=task.attempt)
    failure = dataclasses.replace(failure_of(error, _now_ms()), traceback=None)
    _report(system, task.run_id, StepOutcome.failed(task.call_id, task.attempt, failure),
            inline=False)
    leases.drop(step_attempt(task.run_id, task.call_id, task.attempt))


def _dead_letter(system: Any, reason: str, payload: dict[str, Any]) -> None:
    logger.error("a step task that does not fit its shape, dead-lettered", reason=reason)
    system.dead_letters.add(f"step task: {reason}", json.dumps(payload, default=repr)[:65536],
                            queue=STEP_TASK)


def _turns_read_here(system: Any, run_id: str) -> bool:
    """Whether this worker reads the queue of ``run_id``'s turns: only then may it run the
    run's next turn itself, right after the step (a step on a ``gpu`` queue must not
    bring its run's turns to the gpu workers)."""
    return _consumed(_installed[0] if _installed else current_app,
                     system.turn_route(run_id)[0])


#: The app ``install`` put the step task on (the worker's; not Celery's ``current_app``,
#: which a module the worker imports may have replaced).
_installed: list[Any] = []


def _consumed(app: Any, queue: str | None) -> bool:
    """Whether this worker reads ``queue`` (``-Q``; all queues when none were chosen:
    Celery's ``consume_from`` then names only the queues declared so far, so "none
    chosen" is read from its ``_consume_from``, unset until ``-Q`` selects)."""
    queues = app.amqp.queues
    if getattr(queues, "_consume_from", None) is None:
        return True
    selected = queues.consume_from
    return not selected or queue is None or queue in selected


def install(app: Any, system: Any, leases: StepLeases, hand_back: HandBack | None = None) -> None:
    """The step task on ``app``; ``hand_back``: where an attempt of a step this worker
    lacks goes (``hand_back``; None: it fails as not registered), and what keeps an
    attempt queued where no worker reads from being sent again every minute."""
    if hand_back is not None:
        leases.unserved = hand_back.step_unserved
    _installed[:] = [app]
    class Request(StepRequest):
        def hard_limit_reached(self, kwargs: dict[str, Any], limit: float) -> None:
            report_hard_limit(system, leases, kwargs, limit)

    # An outage (Redis away, a cluster's CLUSTERDOWN, a failover) that escapes the attempt
    # (taking its lease, reporting its outcome) is not the step's failure: without a
    # lease nothing would notice the attempt never ran, so Celery sends the task again,
    # with backoff, for as long as it takes. A retry of an attempt that had started is
    # reported lost by its lease (``hold`` counts starts) and retried per the step's policy.
    def step_task(**payload: Any) -> None:
        try:
            task = decode(StepAttempt, payload)
        except WireError as exc:  # nothing to run and no run to tell: kept, with why
            _dead_letter(system, str(exc), payload)
            return
        if hand_back is not None and get_step(task.step) is None:
            hand_back.step(payload, task.run_id, task.call_id, task.attempt,
                           step_task_id(task.run_id, task.call_id, task.attempt),
                           need_step(task.step))
            return
        if task.timeout is not None:  # Celery's limits cover this whole task: nothing after
            run_step(system, leases, task)
            return
        with system.in_place.running():
            run_step(system, leases, task)

    app.task(name=STEP_TASK, acks_late=True, reject_on_worker_lost=True, shared=False,
             ignore_result=True, Request=Request, autoretry_for=OUTAGES,
             retry_backoff=1, retry_backoff_max=15, retry_jitter=True,
             max_retries=None)(step_task)

    def _in_place(task: KeptTask) -> bool:
        """A step attempt may run in the process whose turn sent it: when it has no
        timeout (Celery's limits arm per task) and goes to a queue this worker reads."""
        return (task.kwargs.get("timeout") is None and _consumed(app, task.queue)
                and get_step(str(task.kwargs.get("step"))) is not None)

    def _prepare(task: KeptTask, writes: ConditionalWrites) -> None:
        attempt = decode(StepAttempt, task.kwargs)
        leases.hold_writes(attempt.run_id, attempt.call_id, attempt.attempt, writes)

    system.in_place.accept(
        STEP_TASK, _in_place,
        lambda task: run_step(system, leases, decode(StepAttempt, task.kwargs),
                              prepared=task.prepared),
        prepare=_prepare)

    system.periodic.append(lambda: leases.recover_lost(system))

    def _received(request: Any = None, **_: Any) -> None:
        if request is not None and request.name == STEP_TASK:
            try:
                task = decode(StepAttempt, request.kwargs or {})
                if hand_back is None or get_step(task.step) is not None:  # else handed back
                    leases.reserve(task.run_id, task.call_id, task.attempt)
            except Exception as exc:  # never lose the task over its lease
                logger.warning("could not reserve a step lease", error=str(exc))

    def _shutting_down(**_: Any) -> None:
        leases.release_reservations()

    signals.task_received.connect(_received, weak=False)
    signals.worker_shutting_down.connect(_shutting_down, weak=False)
