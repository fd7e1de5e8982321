"""The client API for async apps: the top level's functions, never blocking the loop.

    from pyworkflow import aio

    run_id = await aio.start(order_workflow, "o-1", 9.5)
    info = await aio.wait_for_run(run_id, timeout=60)      # woken by Redis, not polled
    infos = await asyncio.gather(*(aio.get_workflow_run(r) for r in run_ids))

Reads and waits use ``redis.asyncio`` (one client per event loop, so an app that
runs several loops, or ``asyncio.run`` twice, is fine). Waiting for a run is a
blocking read on the run's journal (``XREAD BLOCK``): every status change is a
journal event committed together with the run's record, so the wait returns within
a few milliseconds of the run's end. Putting a message in a run's mailbox goes
through Kombu, which has no asyncio API; those sends (start, cancel, retry,
resume_hook) run in the default thread pool, a millisecond each, so the loop is
never blocked by them either.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors import sentinel

from . import hooks as _hooks
from . import keys
from ._runtime import Runtime, runtime
from ._scripts import script
from ._start_plan import StartPlan, plan_start
from .config import _socket_url_to_unix
from .errors import RunNotFoundError
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
from .run_info import RunInfo, run_info_from_record, values_from_record
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

__all__ = ["MAX_LIST_LIMIT", "cancel_workflow", "get_hook", "get_result", "get_value",
           "get_values", "get_workflow_events", "get_workflow_run", "list_hooks",
           "list_workflow_runs", "resume_hook", "retry_run", "send_signal", "start",
           "wait_for_run"]

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = \
    weakref.WeakKeyDictionary()


class _Client:
    """The runtime (settings, key layout, Kombu sender) plus this loop's Redis client."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        url = rt.settings.redis_url
        if url.partition("://")[0].lower() in ("redis+socket", "socket"):
            url = _socket_url_to_unix(url)
        options: dict[str, Any] = dict(
            decode_responses=False, socket_timeout=30.0, socket_connect_timeout=5.0,
            client_name="pyworkflow-aio",
            retry=Retry(ExponentialBackoff(cap=3.0, base=0.2), 5),
            retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionError])
        self.redis: Any = (
            sentinel.async_client(url, options) if sentinel.is_sentinel_url(url)
            else AsyncRedisCluster.from_url(url, **options) if isinstance(rt.redis, RedisCluster)
            else aioredis.Redis.from_url(url, **options))
        self.claim = script(self.redis, CLAIM_SCRIPT)
        self.release = script(self.redis, RELEASE_SCRIPT)

    @property
    def prefix(self) -> str:
        return self.rt.settings.key_prefix

    def record_key(self, run_id: str) -> str:
        return self.rt.system.actor_keys(run_id).record

    def journal_key(self, run_id: str) -> str:
        return self.rt.system.actor_keys(run_id).journal

    async def send(self, run_id: str, kind: str, payload: dict[str, Any],
                   msg_id: str | None = None) -> None:
        await asyncio.to_thread(self.rt.system.send, run_id, kind, payload, msg_id)


async def _client() -> _Client:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # The first call may resolve Redis (and start the embedded server): off the loop.
        client = _Client(await asyncio.to_thread(runtime))
        _clients[loop] = client
    return client


async def start(workflow_or_name: Any, *args: Any, idempotency_key: str | None = None,
                if_finished: IfFinished = "return", **kwargs: Any) -> str:
    """``pyworkflow.start``, awaited: same checks, same undo on failure, same keys."""
    if idempotency_key is not None:
        check_if_finished(if_finished)
    plan = plan_start(workflow_or_name, args, kwargs, idempotency_key)
    c = await _client()
    await c.redis.hset(c.record_key(plan.run_id), mapping=plan.record)
    claimed = False
    try:
        if idempotency_key is not None:
            holder = await _claim(c, plan, idempotency_key, if_finished)
            if holder is not None:
                await c.redis.delete(c.record_key(plan.run_id))
                return holder
            claimed = True
        await c.redis.zadd(keys.runs_index(c.prefix), {plan.run_id: plan.created_at})
        with start_span(plan.workflow, plan.run_id) as carrier:
            if carrier:
                plan.message["trace"] = carrier
            await c.send(plan.run_id, "start", plan.message, plan.msg_id)
    except BaseException:
        await _undo_start(c, plan, idempotency_key if claimed else None)
        raise
    return plan.run_id


async def _claim(c: _Client, plan: StartPlan, key: str, if_finished: IfFinished) -> str | None:
    expected = ""
    for _attempt in range(10):
        lkeys, largs = claim_args(c.prefix, key, plan.run_id, expected,
                                  c.rt.settings.idempotency_retention)
        won, holder = await c.claim(keys=lkeys, args=largs)
        if won:
            return None
        expected = holder.decode()
        if not expected:
            continue
        rec = await c.redis.hgetall(c.record_key(expected))
        info = run_info_from_record(expected, rec) if rec else None
        if holder_verdict(key, info, if_finished) == "return":
            await _resend_lost_start(c, expected, rec)
            return expected
    raise RuntimeError(f"idempotency key {key!r} keeps changing hands; try again")


async def _resend_lost_start(c: _Client, run_id: str, record: dict[bytes, bytes]) -> None:
    start = start_message(run_id, record)
    if start is None or await c.redis.xlen(c.journal_key(run_id)) > 0:
        return
    await c.send(run_id, "start", start["payload"], start["msg_id"])


async def _undo_start(c: _Client, plan: StartPlan, claimed_key: str | None) -> None:
    try:
        pipe = c.redis.pipeline(transaction=False)
        pipe.delete(c.record_key(plan.run_id))
        pipe.zrem(keys.runs_index(c.prefix), plan.run_id)
        await pipe.execute()
        if claimed_key is not None:
            lkeys, largs = release_args(c.prefix, claimed_key, plan.run_id)
            await c.release(keys=lkeys, args=largs)
    except Exception:  # best effort, as in the sync client
        pass


async def get_workflow_run(run_id: str) -> RunInfo:
    c = await _client()
    rec = await c.redis.hgetall(c.record_key(run_id))
    if not rec:
        raise RunNotFoundError(run_id)
    return run_info_from_record(run_id, rec)


async def get_workflow_events(run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    from actors.journal import decode_entry

    c = await _client()
    if after_seq == 0 and not await c.redis.exists(c.record_key(run_id)):
        raise RunNotFoundError(run_id)
    entries = await c.redis.xrange(c.journal_key(run_id), min=f"{after_seq + 1}-0", max="+")
    events = [decode_entry(eid, fields) for eid, fields in entries]
    return [event_dict(e.seq, e.type, e.ts, e.data) for e in events]


async def list_workflow_runs(status: str | None = None, workflow: str | None = None,
                             limit: int = 50) -> list[RunInfo]:
    """Newest first, filtered by status and workflow name."""
    check_limit(limit)
    c = await _client()
    out: list[RunInfo] = []
    offset, page = 0, list_page(limit)
    index = keys.runs_index(c.prefix)
    while len(out) < limit:
        ids = await c.redis.zrevrange(index, offset, offset + page - 1)
        if not ids:
            break
        offset += page
        pipe = c.redis.pipeline(transaction=False)
        for raw in ids:
            pipe.hgetall(c.record_key(raw.decode()))
        take_matching(out, ids, await pipe.execute(), status, workflow, limit)
    return out


async def wait_for_run(run_id: str, timeout: float | None = None,
                       follow: bool = False) -> RunInfo:
    """Until the run is finished (or parked); woken by the run's journal. With
    ``follow``, on to the last run of its continue-as-new chain."""
    deadline = wait_deadline(timeout)
    info = await _wait_one(run_id, deadline, timeout)
    while follow and info.continued_to:
        info = await _wait_one(info.continued_to, deadline, timeout, expected=True)
    return info


async def _wait_one(run_id: str, deadline: float | None, timeout: float | None,
                    expected: bool = False) -> RunInfo:
    c = await _client()
    journal = c.journal_key(run_id)
    while True:
        tail = journal_tail(await c.redis.xrevrange(journal, count=1))
        try:
            info = await get_workflow_run(run_id)
        except RunNotFoundError:
            if not expected:
                raise
            # A successor whose first turn has not run yet: its journal's creation wakes us.
            await c.redis.xread({journal: "0-0"}, count=1, block=block_until(
                deadline, f"run {run_id} has not started after {timeout}s"))
            continue
        if info.settled:
            return info
        await c.redis.xread({journal: tail}, count=1, block=block_ms(info, deadline, timeout))


async def get_result(run_id: str, timeout: float | None = None, follow: bool = False) -> Any:
    """The run's result; raises ``WorkflowFailedError`` if it did not complete."""
    return result_of(await wait_for_run(run_id, timeout, follow))


async def send_signal(run_id: str, name: str, payload: Any = None,
                      signal_id: str | None = None) -> str:
    """``pyworkflow.send_signal``, awaited: the same checks, nothing sent when refused."""
    msg_id, message = signal_message(name, payload, signal_id)
    check_signal_target(await get_workflow_run(run_id))
    c = await _client()
    await c.send(run_id, "signal", message, msg_id)
    return msg_id


async def get_values(run_id: str) -> dict[str, Any]:
    """``pyworkflow.get_values``, awaited."""
    c = await _client()
    rec = await c.redis.hgetall(c.record_key(run_id))
    if not rec:
        raise RunNotFoundError(run_id)
    return values_from_record(rec)


async def get_value(run_id: str, key: str, timeout: float | None = None) -> Any:
    """``pyworkflow.get_value``, awaited; a wait is woken by the run's journal."""
    check_value_key(key)
    c = await _client()
    journal, record = c.journal_key(run_id), c.record_key(run_id)
    deadline = wait_deadline(timeout)
    while True:
        tail = journal_tail(await c.redis.xrevrange(journal, count=1))
        rec = await c.redis.hgetall(record)
        if not rec:
            raise RunNotFoundError(run_id)
        found, value = value_in_record(run_id, key, rec, waiting=timeout is not None)
        if found:
            return value
        await c.redis.xread({journal: tail}, count=1,
                            block=block_until(deadline, value_timeout_text(run_id, key, timeout)))


async def cancel_workflow(run_id: str, reason: str | None = None, wait: bool = False,
                          timeout: float | None = None) -> RunInfo:
    """``pyworkflow.cancel_workflow``, awaited."""
    info = await get_workflow_run(run_id)
    if info.finished:
        return info
    c = await _client()
    await c.send(run_id, "cancel", {"reason": reason, "force": True})
    await asyncio.to_thread(_hooks.cancel_hooks, run_id)  # its tokens answer "cancelled"
    if wait:
        return await wait_for_run(run_id, timeout)
    return await get_workflow_run(run_id)


async def retry_run(run_id: str) -> RunInfo:
    """``pyworkflow.retry_run``, awaited."""
    c = await _client()
    rec = await c.redis.hgetall(c.record_key(run_id))
    if not rec:
        raise RunNotFoundError(run_id)
    info = run_info_from_record(run_id, rec)
    action = retry_message(info)
    if action == "start":
        await _resend_lost_start(c, run_id, rec)
    elif action == "retry":
        await c.send(run_id, "retry", {})
    return info


async def resume_hook(token: str, payload: Any = None) -> Any:
    """``pyworkflow.resume_hook``, awaited (its checks and send run off the loop)."""
    await _client()
    return await asyncio.to_thread(_hooks.resume_hook, token, payload)


async def get_hook(token: str) -> Any:
    await _client()
    return await asyncio.to_thread(_hooks.get_hook, token)


async def list_hooks(status: str | None = None, run_id: str | None = None,
                     limit: int = 100) -> Any:
    await _client()
    return await asyncio.to_thread(_hooks.list_hooks, status, run_id, limit)
