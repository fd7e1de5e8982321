"""The client API for apps, synchronous: start runs, read their state and journals.

Each call is a few Redis round trips, so these work from plain sync code (Django
views, scripts, Celery tasks). Async apps use :mod:`pyworkflow.aio`, the same
functions on ``redis.asyncio``. For code written against the product we replace,
the quick calls' values can also be awaited (``run_id = await start(...)``), and a
*waiting* call (``wait_for_run``, ``get_result``, ``cancel_workflow(wait=True)``)
made from inside a running event loop does not block it: it returns an awaitable
that waits through ``pyworkflow.aio`` (see :class:`LoopWait`).

Waiting for a run is woken by Redis: a blocking read on the run's journal (every
status change is a journal event, committed with the record), never a sleep loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from actors import Message

from . import aio, keys
from ._runtime import runtime
from ._scripts import script
from ._start_plan import StartPlan, plan_start
from .errors import RunNotFoundError
from .hooks import cancel_hooks
from .idempotency import (
    CLAIM_SCRIPT,
    RELEASE_SCRIPT,
    IfFinished,
    check_if_finished,
    claim_args,
    holder_verdict,
    release_args,
    start_message,
)
from .ids import RUN_ID_PREFIX
from .run_info import (
    TERMINAL_STATUSES,
    AwaitableList,
    RunId,
    RunInfo,
    run_info_from_record,
    values_from_record,
)
from .run_queries import (
    MAX_LIST_LIMIT,
    block_ms,
    block_until,
    check_limit,
    check_signal_target,
    check_value_key,
    event_dict,
    journal_tail,
    list_page,
    result_of,
    retry_message,
    signal_message,
    take_matching,
    value_in_record,
    value_timeout_text,
    wait_deadline,
)
from .tracing import start_span

__all__ = ["MAX_LIST_LIMIT", "RUN_ID_PREFIX", "TERMINAL_STATUSES", "LoopWait", "RunId", "RunInfo",
           "app_key", "check_limit", "redis_connection", "result_of",
           "cancel_workflow", "get_result", "get_workflow_events", "get_workflow_run",
           "get_value", "get_values", "list_workflow_runs", "retry_run", "send_signal", "start",
           "wait_for_run"]



def redis_connection() -> Any:
    """The Redis client pyworkflow uses in this process, resolved from the configuration
    (the embedded server's, when that is the one configured).

    For an app's own small records that should live beside its runs (under
    :func:`app_key`), without a second connection setting to keep in step. Never write
    pyworkflow's own keys with it: they are the runtime's.
    """
    return runtime().redis


def app_key(name: str) -> str:
    """A Redis key for an app's own data: ``<key prefix>:app:<name>``.

    Under the deployment's key prefix, so independent deployments (and test sessions)
    sharing one Redis never see each other's data, and apart from every key pyworkflow
    itself writes. On a Redis Cluster, keys that one script or transaction touches
    together must share a hash tag: put it in ``name`` (``app_key("{ledger}:charges")``).
    """
    return f"{runtime().settings.key_prefix}:app:{name}"


def start(workflow_or_name: Any, *args: Any, idempotency_key: str | None = None,
          if_finished: IfFinished = "return", **kwargs: Any) -> RunId:
    """Start a run and return its id.

    Arguments are checked against the workflow's signature and must be
    JSON-serialisable (see ``serialization``); nothing is written when they are not.
    A start that fails (Redis or the broker down) undoes what it wrote and raises:
    no run is left ``pending`` forever. With ``idempotency_key`` the same key gives
    the same run (see :mod:`pyworkflow.idempotency` for ``if_finished``).
    """
    if idempotency_key is not None:
        check_if_finished(if_finished)
    plan = plan_start(workflow_or_name, args, kwargs, idempotency_key)
    rt = runtime()
    record_key = rt.system.actor_keys(plan.run_id).record
    index = keys.runs_index(rt.settings.key_prefix)
    claimed = False
    try:
        if idempotency_key is not None:
            rt.redis.hset(record_key, mapping=plan.record)
            holder = _claim(plan, idempotency_key, if_finished)
            if holder is not None:
                rt.redis.delete(record_key)
                return RunId(holder)
            claimed = True

        def record(pipe: Any) -> None:  # the run's record and index, with the hand-over
            if not claimed:
                pipe.hset(record_key, mapping=plan.record)
            pipe.zadd(index, {plan.run_id: plan.created_at})

        with start_span(plan.workflow, plan.run_id) as carrier:
            if carrier:
                plan.message["trace"] = carrier
            # A new run's actor is idle: its start message goes in hand with its first
            # turn (no mailbox publish, no take).
            rt.system.deliver_held(Message(kind="start", actor_id=plan.run_id,
                                           payload=plan.message, msg_id=plan.msg_id),
                                   before=record)
    except BaseException:
        _undo_start(plan, idempotency_key if claimed else None)
        raise
    return RunId(plan.run_id)


def _claim(plan: StartPlan, key: str, if_finished: IfFinished) -> str | None:
    """Make ``key`` name the new run (None), or return the run it names instead."""
    rt = runtime()
    claim = script(rt.redis, CLAIM_SCRIPT)
    expected = ""
    for _attempt in range(10):
        lkeys, largs = claim_args(rt.settings.key_prefix, key, plan.run_id, expected,
                                  rt.settings.idempotency_retention)
        won, holder = claim(keys=lkeys, args=largs)
        if won:
            return None
        expected = holder.decode()
        if not expected:
            continue  # it was let go meanwhile: claim it as free
        rec = rt.redis.hgetall(rt.system.actor_keys(expected).record)
        info = run_info_from_record(expected, rec) if rec else None
        if holder_verdict(key, info, if_finished) == "return":
            _resend_lost_start(expected, rec)
            return expected
    raise RuntimeError(f"idempotency key {key!r} keeps changing hands; try again")


def _resend_lost_start(run_id: str, record: dict[bytes, bytes]) -> bool:
    """A ``pending`` run with an empty journal may never have got its start message:
    send it again (same message id, so a start that did arrive is not doubled)."""
    start = start_message(run_id, record)
    if start is None or runtime().system.journal(run_id).last_seq() > 0:
        return False
    runtime().system.send(run_id, "start", start["payload"], msg_id=start["msg_id"])
    return True


def _undo_start(plan: StartPlan, claimed_key: str | None) -> None:
    """Best effort: if Redis itself is down this fails too, and what stays behind is
    a record without a start message, which the next start with the same key (or
    ``retry_run``) completes."""
    rt = runtime()
    with contextlib.suppress(Exception):
        pipe = rt.redis.pipeline(transaction=False)
        pipe.delete(rt.system.actor_keys(plan.run_id).record)
        pipe.zrem(keys.runs_index(rt.settings.key_prefix), plan.run_id)
        pipe.execute()
        if claimed_key is not None:
            release = script(rt.redis, RELEASE_SCRIPT)
            lkeys, largs = release_args(rt.settings.key_prefix, claimed_key, plan.run_id)
            release(keys=lkeys, args=largs)


def get_workflow_run(run_id: str) -> RunInfo:
    rt = runtime()
    rec = rt.redis.hgetall(rt.system.actor_keys(run_id).record)
    if not rec:
        raise RunNotFoundError(run_id)
    return run_info_from_record(run_id, rec)


def get_workflow_events(run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    rt = runtime()
    if after_seq == 0 and not rt.redis.exists(rt.system.actor_keys(run_id).record):
        raise RunNotFoundError(run_id)
    events = rt.system.journal(run_id).read(after_seq)
    return AwaitableList(event_dict(e.seq, e.type, e.ts, e.data) for e in events)


def list_workflow_runs(status: str | None = None, workflow: str | None = None,
                       limit: int = 50) -> list[RunInfo]:
    """Newest first, filtered by status and workflow name."""
    check_limit(limit)
    rt = runtime()
    out: list[RunInfo] = AwaitableList()
    offset, page = 0, list_page(limit)
    index = keys.runs_index(rt.settings.key_prefix)
    while len(out) < limit:
        ids = rt.redis.zrevrange(index, offset, offset + page - 1)
        if not ids:
            break
        offset += page
        pipe = rt.redis.pipeline(transaction=False)
        for raw in ids:
            pipe.hgetall(rt.system.actor_keys(raw.decode()).record)
        take_matching(out, ids, pipe.execute(), status, workflow, limit)
    return out


def cancel_workflow(run_id: str, reason: str | None = None, wait: bool = False,
                    timeout: float | None = None) -> RunInfo:
    """Ask a run to cancel: a message to its actor, then an event in its journal.

    The workflow is woken at its next checkpoint (a sleep or hook wait is interrupted
    at once) and its cleanup runs. A finished run is left unchanged: the returned
    info shows its final status. With ``wait`` this returns once the run is terminal.
    """
    if wait and _in_event_loop():
        return LoopWait(lambda: aio.cancel_workflow(run_id, reason, wait, timeout))  # type: ignore[return-value]
    info = get_workflow_run(run_id)
    if info.finished:
        return info
    runtime().system.send(run_id, "cancel", {"reason": reason, "force": True})
    cancel_hooks(run_id)  # from now on its hooks' tokens answer "cancelled"
    if wait:
        return wait_for_run(run_id, timeout)
    return get_workflow_run(run_id)


def retry_run(run_id: str) -> RunInfo:
    """An operator's retry, after fixing what stopped the run.

    A ``parked`` run resumes where it stopped, replayed with the code the workers
    run now (a step parked as poison gets a new attempt). A ``failed`` run re-opens
    from its failed step, which gets a new attempt; the failure stays in the journal,
    marked superseded. A ``pending`` run that never got its start message (its
    starter died) gets it. Other statuses are left unchanged (returned as they are).
    """
    rt = runtime()
    rec = rt.redis.hgetall(rt.system.actor_keys(run_id).record)
    if not rec:
        raise RunNotFoundError(run_id)
    info = run_info_from_record(run_id, rec)
    action = retry_message(info)
    if action == "start":
        _resend_lost_start(run_id, rec)
    elif action == "retry":
        rt.system.send(run_id, "retry", {})
    return info


def wait_for_run(run_id: str, timeout: float | None = None, follow: bool = False) -> RunInfo:
    """Block until the run is finished (or parked); returns its final state. With
    ``follow``, a run that continued as new is followed to the last run of its chain
    (``timeout`` covers the whole chain).

    Woken by the run's own journal (XREAD BLOCK), so it returns within a few ms of
    the run's end. Inside a running event loop it returns an awaitable instead of
    blocking the loop (``await wait_for_run(...)``); prefer ``pyworkflow.aio``.
    """
    if _in_event_loop():
        return LoopWait(lambda: aio.wait_for_run(run_id, timeout, follow))  # type: ignore[return-value]
    deadline = wait_deadline(timeout)
    info = _wait_one(run_id, deadline, timeout)
    while follow and info.continued_to:
        info = _wait_one(info.continued_to, deadline, timeout, expected=True)
    return info


def _wait_one(run_id: str, deadline: float | None, timeout: float | None,
              expected: bool = False) -> RunInfo:
    """Wait for one run; ``expected``: a successor that may not exist yet."""
    rt = runtime()
    journal_key = rt.system.actor_keys(run_id).journal
    while True:
        tail = journal_tail(rt.redis.xrevrange(journal_key, count=1))
        try:
            info = get_workflow_run(run_id)
        except RunNotFoundError:
            if not expected:
                raise
            # A successor whose first turn has not run yet: its journal's creation wakes us.
            rt.redis.xread({journal_key: "0-0"}, count=1, block=block_until(
                deadline, f"run {run_id} has not started after {timeout}s"))
            continue
        if info.settled:
            return info
        rt.redis.xread({journal_key: tail}, count=1, block=block_ms(info, deadline, timeout))


def send_signal(run_id: str, name: str, payload: Any = None,
                signal_id: str | None = None) -> str:
    """Send the run a signal named ``name``; returns the signal's id.

    The workflow takes it with ``await wait_for_signal(name)``: signals that arrive
    before it waits are kept, in order, and each is delivered once. Refused, with
    nothing sent, when the name is not a non-empty string, the payload is not JSON
    (the project's codec) or is over the input limits (``SerializationError``), the
    run does not exist (``RunNotFoundError``) or has finished (``RunFinishedError``).
    Pass your own ``signal_id`` to make a retried send one signal.
    """
    msg_id, message = signal_message(name, payload, signal_id)
    check_signal_target(get_workflow_run(run_id))
    runtime().system.send(run_id, "signal", message, msg_id=msg_id)
    return msg_id


def get_values(run_id: str) -> dict[str, Any]:
    """Every value the run has published (``set_value``): key -> latest value."""
    rt = runtime()
    rec = rt.redis.hgetall(rt.system.actor_keys(run_id).record)
    if not rec:
        raise RunNotFoundError(run_id)
    return values_from_record(rec)


def get_value(run_id: str, key: str, timeout: float | None = None) -> Any:
    """The latest value the run published under ``key``.

    Without ``timeout``: at once, or ``ValueNotSetError`` (a ``LookupError``) when it
    has not been set. With ``timeout`` (seconds): waits for the run to set it, woken
    by the run's journal (a blocking read, as :func:`wait_for_run`); ``TimeoutError``
    when the time passes first, ``ValueNotSetError`` as soon as the run ends (or
    parks) without setting it.
    """
    check_value_key(key)
    if timeout is not None and _in_event_loop():
        return LoopWait(lambda: aio.get_value(run_id, key, timeout))
    rt = runtime()
    keys_ = rt.system.actor_keys(run_id)
    deadline = wait_deadline(timeout)
    while True:
        tail = journal_tail(rt.redis.xrevrange(keys_.journal, count=1))
        rec = rt.redis.hgetall(keys_.record)
        if not rec:
            raise RunNotFoundError(run_id)
        found, value = value_in_record(run_id, key, rec, waiting=timeout is not None)
        if found:
            return value
        rt.redis.xread({keys_.journal: tail}, count=1,
                       block=block_until(deadline, value_timeout_text(run_id, key, timeout)))


def get_result(run_id: str, timeout: float | None = None, follow: bool = False) -> Any:
    """The run's result; raises ``WorkflowFailedError`` if it did not complete. With
    ``follow``, the result of the last run of its continue-as-new chain."""
    if _in_event_loop():
        return LoopWait(lambda: aio.get_result(run_id, timeout, follow))
    return result_of(wait_for_run(run_id, timeout, follow))


def run_chain(run_id: str) -> list[RunInfo]:
    """Every run of ``run_id``'s continue-as-new chain, oldest first."""
    info = get_workflow_run(run_id)
    while info.continued_from:
        info = get_workflow_run(info.continued_from)
    chain = [info]
    while chain[-1].continued_to:
        try:
            chain.append(get_workflow_run(chain[-1].continued_to))
        except RunNotFoundError:
            break  # the successor's first turn has not projected its record yet
    return chain


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class LoopWait:
    """What a waiting call returns when made inside a running event loop: an awaitable
    that waits without blocking the loop. Using it as the value itself (without
    ``await``) is an error that says what to do, never a silent stall."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._make = make

    def __await__(self) -> Generator[Any, None, Any]:
        return self._make().__await__()

    def __getattr__(self, name: str) -> Any:
        raise TypeError("this call waits, and it was made inside a running event loop: "
                        "await it, or use pyworkflow.aio (e.g. `await "
                        "pyworkflow.aio.wait_for_run(run_id)`)")

