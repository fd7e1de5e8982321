"""The client API for async apps: the top level's functions, never blocking the loop.

    from pyworkflow.client import aio

    run_id = await aio.start(order_workflow, "o-1", 9.5)
    info = await aio.wait_for_run(run_id, timeout=60)      # woken by Redis, not polled
    infos = await asyncio.gather(*(aio.get_workflow_run(r) for r in run_ids))

The operations are those of the sync face, written once in
:mod:`pyworkflow.client.core`: the same checks, round trips, return types and
errors. This module drives them on ``redis.asyncio`` (one client per event loop, so
an app that runs several loops, or ``asyncio.run`` twice, is fine). Waiting for a
run is a blocking read on the run's journal (``XREAD BLOCK``): every status change
is a journal event committed together with the run's record, so the wait returns
within a few milliseconds of the run's end. What has no asyncio API (a Kombu send
to a run's mailbox, a start's hand-over to the run's first turn, the hook store)
runs in the default thread pool, a millisecond each, so the loop is never blocked
by it either.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors import sentinel

from ..config import _socket_url_to_unix
from ..run_info import RunId, RunInfo
from ..worker._runtime import Runtime, runtime
from ..worker.idempotency import IfFinished
from . import core as client_core
from . import flow_start
from . import hooks as _hooks
from .run_queries import MAX_LIST_LIMIT

__all__ = ["MAX_LIST_LIMIT", "cancel_workflow", "get_hook", "get_result", "get_value",
           "get_values", "get_workflow_events", "get_workflow_run", "list_hooks",
           "list_workflow_runs", "resume_hook", "retry_run", "send_signal", "start",
           "wait_for_run"]

T = TypeVar("T")

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = \
    weakref.WeakKeyDictionary()


class _Client:
    """The runtime (settings, key layout, actor system) plus this loop's Redis client."""

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


async def _client() -> _Client:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # The first call may resolve Redis (and start the embedded server): off the loop.
        client = _Client(await asyncio.to_thread(runtime))
        _clients[loop] = client
    return client


async def _drive(op: client_core.Op[T], c: _Client) -> T:
    """Run one operation on this loop's ``redis.asyncio`` client; its calls with no
    asyncio API run in a thread (see :mod:`pyworkflow.client.core`).

    A call in a thread cannot be stopped, so a cancellation that comes while one runs
    waits for it and the operation learns what it did: a start whose hand-over went
    through is not undone. The cancellation is then raised in the operation at its
    next request (or in place of its result); if the call failed, only once the
    operation has handled the failure (a start's undo)."""
    run = client_core.Drive(op)
    at_next: asyncio.CancelledError | None = None
    at_end: asyncio.CancelledError | None = None
    try:
        while (request := run.request) is not None:
            if at_next is not None:
                cancel, at_next = at_next, None
                run.fail(cancel)
                continue
            try:
                if isinstance(request, client_core.Offload):
                    call = asyncio.ensure_future(asyncio.to_thread(request.call))
                    try:
                        reply = await asyncio.shield(call)
                    except asyncio.CancelledError as cancel:
                        at_end = cancel
                        reply = await call
                        at_next, at_end = cancel, None
                else:
                    reply = await request.on(c.redis)
            except BaseException as exc:
                run.fail(exc)
            else:
                run.reply(reply)
    except BaseException as exc:
        if at_end is not None and exc is not at_end:
            raise at_end from exc
        raise
    cancelled = at_next or at_end
    if cancelled is not None:
        raise cancelled
    return run.result


async def _run(operation: Callable[..., client_core.Op[T]], *args: Any) -> T:
    c = await _client()
    return await _drive(operation(c.rt, *args), c)


async def start(workflow_or_name: Any, *args: Any, idempotency_key: str | None = None,
                if_finished: IfFinished = "return", queue: str | None = None,
                priority: int | None = None, debounce: Any = None, key: str | None = None,
                if_running: str | None = None, **kwargs: Any) -> RunId:
    """``pyworkflow.start``, awaited: the same checks, round trips and undo on failure."""
    return await _run(flow_start.start, workflow_or_name, args, kwargs, idempotency_key,
                      if_finished, queue, priority, debounce, key, if_running)


async def get_workflow_run(run_id: str) -> RunInfo:
    return await _run(client_core.get_workflow_run, run_id)


async def get_workflow_events(run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    return await _run(client_core.get_workflow_events, run_id, after_seq)


async def list_workflow_runs(status: str | None = None, workflow: str | None = None,
                             limit: int = 50) -> list[RunInfo]:
    """Newest first, filtered by status and workflow name."""
    return await _run(client_core.list_workflow_runs, status, workflow, limit)


async def wait_for_run(run_id: str, timeout: float | None = None,
                       follow: bool = False) -> RunInfo:
    """Until the run is finished (or parked); woken by the run's journal. With
    ``follow``, on to the last run of its continue-as-new chain."""
    return await _run(client_core.wait_for_run, run_id, timeout, follow)


async def get_result(run_id: str, timeout: float | None = None, follow: bool = False) -> Any:
    """The run's result; raises ``WorkflowFailedError`` if it did not complete."""
    return await _run(client_core.get_result, run_id, timeout, follow)


async def send_signal(run_id: str, name: str, payload: Any = None,
                      signal_id: str | None = None) -> str:
    """``pyworkflow.send_signal``, awaited: the same checks, nothing sent when refused."""
    return await _run(client_core.send_signal, run_id, name, payload, signal_id)


async def get_values(run_id: str) -> dict[str, Any]:
    """``pyworkflow.get_values``, awaited."""
    return await _run(client_core.get_values, run_id)


async def get_value(run_id: str, key: str, timeout: float | None = None) -> Any:
    """``pyworkflow.get_value``, awaited; a wait is woken by the run's journal."""
    return await _run(client_core.get_value, run_id, key, timeout)


async def cancel_workflow(run_id: str, reason: str | None = None, wait: bool = False,
                          timeout: float | None = None) -> RunInfo:
    """``pyworkflow.cancel_workflow``, awaited."""
    return await _run(client_core.cancel_workflow, run_id, reason, wait, timeout)


async def retry_run(run_id: str) -> RunInfo:
    """``pyworkflow.retry_run``, awaited."""
    return await _run(client_core.retry_run, run_id)


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
