"""The conformance suite's workflows and steps (the module the celery workers import).

Every workflow takes a ``tag`` first: unique per (case, runtime), it names the Redis
keys where each step attempt is counted (``conf:<tag>:n:<step>``) and timed
(``conf:<tag>:t:<step>``). One mechanism for every runtime: the celery runtime runs
steps in a worker process, the others in this one, and all of them reach the same
Redis under the session's key prefix.

Cases that catch an error return :func:`describe` of it, so what the workflow saw
is compared as plain data on every runtime (transient runs included).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from pydantic import BaseModel

import pyworkflow
from pyworkflow import (
    CancellationError,
    FatalError,
    Limit,
    ParentClosePolicy,
    RetryableError,
    app_key,
    continue_as_new,
    define_hook,
    deprecate_patch,
    get_step_context,
    hook,
    patched,
    redis_connection,
    set_value,
    shield,
    sleep,
    start_child_workflow,
    step,
    wait_for_signal,
    workflow,
)

#: How long a step that waits for its run's cancel keeps waiting before giving up.
STEP_WAIT_LIMIT_S = 5.0


# -- bookkeeping shared by every runtime -----------------------------------------------------


def attempts_key(tag: str, step_name: str) -> str:
    return app_key(f"conf:{tag}:n:{step_name}")


def times_key(tag: str, step_name: str) -> str:
    return app_key(f"conf:{tag}:t:{step_name}")


def cancel_flag_key(tag: str) -> str:
    """Set by an in-process runtime's adapter just before it cancels the run: its steps
    have no cancel probe (see ``wait_for_cancel``)."""
    return app_key(f"conf:{tag}:cancel")


def mark(tag: str) -> int:
    """Count this step attempt (and note when it began); returns its attempt number."""
    ctx = get_step_context()
    client = redis_connection()
    pipe = client.pipeline(transaction=False)
    pipe.incr(attempts_key(tag, ctx.step))
    pipe.rpush(times_key(tag, ctx.step), repr(time.time()))
    pipe.execute()
    return ctx.attempt


def describe(exc: BaseException) -> dict[str, Any]:
    """What a workflow saw of an error, as data (attributes a class lacks are None)."""
    return {
        "caught": type(exc).__name__,
        "error_type": getattr(exc, "error_type", None),
        "cause_type": getattr(exc, "cause_type", None),
        "cause_message": getattr(exc, "cause_message", None),
        "attempts": getattr(exc, "attempts", None),
        "fatal": getattr(exc, "fatal", None),
    }


class CardDeclined(FatalError):
    """A user's FatalError subclass."""


class RateLimited(RetryableError):
    """A user's RetryableError subclass."""


class BadOrder(Exception):
    """Raised by workflow code itself (not by a step)."""


class Approval(BaseModel):
    approved: bool
    by: str


approval_hook = define_hook("conf_approval", Approval)


# -- steps -------------------------------------------------------------------------------------


@step(name="conf_double", max_retries=0)
async def double(tag: str, x: int) -> int:
    mark(tag)
    return 2 * x


@step(name="conf_sync_add", max_retries=0)
def sync_add(tag: str, a: int, b: int) -> int:
    mark(tag)
    return a + b


@step(name="conf_cleanup", max_retries=0)
async def cleanup(tag: str) -> str:
    mark(tag)
    return "cleaned"


@step(name="conf_fatal", max_retries=3, retry_delay=0)
async def fatal(tag: str) -> None:
    mark(tag)
    raise FatalError("no way")


@step(name="conf_declined", max_retries=3, retry_delay=0)
async def declined(tag: str) -> None:
    mark(tag)
    raise CardDeclined("card declined")


@step(name="conf_retryable", max_retries=2, retry_delay=0)
async def retryable(tag: str) -> None:
    mark(tag)
    raise RetryableError("still busy")


@step(name="conf_rate_limited", max_retries=2, retry_delay=0)
async def rate_limited(tag: str) -> None:
    mark(tag)
    raise RateLimited("slow down")


@step(name="conf_value_error", max_retries=2, retry_delay=0)
async def value_error(tag: str) -> None:
    mark(tag)
    raise ValueError("bad value")


@step(name="conf_no_retries", max_retries=0)
async def no_retries(tag: str) -> None:
    mark(tag)
    raise ValueError("once only")


@step(name="conf_flaky", max_retries=3, retry_delay="10ms")
async def flaky(tag: str, fail_times: int) -> int:
    attempt = mark(tag)
    if attempt <= fail_times:
        raise ConnectionError(f"attempt {attempt} lost the connection")
    return attempt


@step(name="conf_retry_after", max_retries=2, retry_delay=0)
async def retry_after(tag: str) -> int:
    attempt = mark(tag)
    if attempt == 1:
        raise RetryableError("come back later", retry_after="0.4s")
    return attempt


@step(name="conf_list_delays", max_retries=3, retry_delay=["0.2s", "0.3s"])
async def list_delays(tag: str) -> int:
    attempt = mark(tag)
    if attempt <= 2:
        raise ConnectionError("not yet")
    return attempt


@step(name="conf_fixed_delay", max_retries=3, retry_delay="0.25s")
async def fixed_delay(tag: str) -> int:
    attempt = mark(tag)
    if attempt <= 2:
        raise ConnectionError("not yet")
    return attempt


@step(name="conf_too_slow", timeout="0.3s", max_retries=1, retry_delay=0)
async def too_slow(tag: str) -> str:
    mark(tag)
    await asyncio.sleep(3)
    return "too late"


@step(name="conf_slow_once", timeout="0.3s", max_retries=1, retry_delay=0)
async def slow_once(tag: str) -> int:
    attempt = mark(tag)
    if attempt == 1:
        await asyncio.sleep(3)
    return attempt


@step(name="conf_wait_for_cancel", max_retries=0)
def wait_for_cancel(tag: str) -> str:
    """Runs until its run is being cancelled (a worker's step sees that through its
    context; an in-process runtime's adapter raises a flag before it cancels)."""
    mark(tag)
    ctx = get_step_context()
    client = redis_connection()
    deadline = time.monotonic() + STEP_WAIT_LIMIT_S
    while time.monotonic() < deadline:
        if ctx.cancel_requested or client.exists(cancel_flag_key(tag)):
            return "finished anyway"
        time.sleep(0.05)
    return "never cancelled"


@step(name="conf_check_cancellation", max_retries=2, retry_delay=0)
def check_cancellation(tag: str) -> str:
    """A long step that stops where its context says the run is being cancelled."""
    mark(tag)
    ctx = get_step_context()
    deadline = time.monotonic() + STEP_WAIT_LIMIT_S
    while time.monotonic() < deadline:
        ctx.check_cancellation()
        time.sleep(0.05)
    return "never cancelled"


STEPS: dict[str, Any] = {
    "fatal": fatal, "declined": declined, "retryable": retryable, "rate_limited": rate_limited,
    "value_error": value_error, "no_retries": no_retries, "too_slow": too_slow,
}


@step(name="conf_routed_step", max_retries=0, queue="conf")
async def routed_step(tag: str, x: int) -> int:
    mark(tag)
    return x + 1


# -- workflows ---------------------------------------------------------------------------------


@workflow(name="conf_routed", queue="conf", priority=8)
async def routed_flow(tag: str, x: int) -> int:
    """Routed (its own queue, a step on it, a high priority): on celery its turns and step
    go to the ``conf`` queue; the in-process runtimes accept the options and ignore them."""
    return await double(tag, await routed_step(tag, x))


@step(name="conf_limited_step", max_retries=0, concurrency=Limit(key="tag", max=1))
async def limited_step(tag: str, x: int) -> int:
    mark(tag)
    return x + 1


@step(name="conf_rated_step", max_retries=0, rate_limit="1000/s", key="tag")
def rated_step(tag: str, x: int) -> int:
    mark(tag)
    return x * 3


@workflow(name="conf_limited", concurrency=Limit(key="tag", max=1))
async def limited_flow(tag: str, x: int) -> int:
    """Flow control (a run limit, a step limit, a rate limit) that never binds: on celery
    each takes its slot or its start and goes on, the in-process runtimes accept the
    options and ignore them; everywhere the same events and result."""
    return await rated_step(tag, await limited_step(tag, x))


@step(name="conf_pair_double", max_retries=0)
async def pair_double(pair: list[Any]) -> int:
    """One item of ``conf_map``: ``[tag, x]`` (a mapped step takes one argument)."""
    mark(pair[0])
    return 2 * int(pair[1])


@workflow(name="conf_map")
async def map_flow(tag: str, n: int) -> list[int]:
    """``pyworkflow.map`` over ``n`` items, two at a time: the results in order."""
    return await pyworkflow.map(pair_double, [[tag, x] for x in range(n)], concurrency=2)


@workflow(name="conf_steps")
async def steps_flow(tag: str, x: int) -> dict[str, int]:
    doubled = await double(tag, x)
    # A sync step called in a workflow returns a future to await (mypy sees the def).
    return {"doubled": doubled, "sum": await sync_add(tag, doubled, 1)}  # type: ignore[misc]


@workflow(name="conf_catch")
async def catch_flow(tag: str, which: str) -> dict[str, Any]:
    """Awaits the named failing step and returns what it caught."""
    try:
        await STEPS[which](tag)
    except Exception as exc:
        return describe(exc)
    return {"caught": None}


@workflow(name="conf_raise")
async def raise_flow(tag: str, which: str) -> None:
    """Awaits the named failing step and lets its error end the run."""
    await STEPS[which](tag)


@workflow(name="conf_compensate")
async def compensate_flow(tag: str) -> dict[str, Any]:
    """A saga: the failure is caught and a compensating step runs."""
    try:
        await declined(tag)
    except Exception as exc:
        return {"seen": describe(exc), "undo": await cleanup(tag)}
    return {"seen": None}


@workflow(name="conf_flaky")
async def flaky_flow(tag: str, fail_times: int) -> int:
    return await flaky(tag, fail_times)


@workflow(name="conf_retry_after")
async def retry_after_flow(tag: str) -> int:
    return await retry_after(tag)


@workflow(name="conf_list_delays")
async def list_delays_flow(tag: str) -> int:
    return await list_delays(tag)


@workflow(name="conf_fixed_delay")
async def fixed_delay_flow(tag: str) -> int:
    return await fixed_delay(tag)


@workflow(name="conf_slow_once")
async def slow_once_flow(tag: str) -> int:
    return await slow_once(tag)


@workflow(name="conf_workflow_error")
async def workflow_error_flow(tag: str) -> None:
    await double(tag, 1)
    raise BadOrder("the order makes no sense")


@workflow(name="conf_workflow_fatal")
async def workflow_fatal_flow(tag: str) -> None:
    """Workflow code raising pyworkflow's own FatalError (no step involved)."""
    raise FatalError("refused by the workflow")


@workflow(name="conf_sleep")
async def sleep_flow(tag: str, seconds: float) -> int:
    first = await double(tag, 1)
    await sleep(seconds)
    return await double(tag, first)


@workflow(name="conf_hook")
async def hook_flow(tag: str, timeout: float | None = None) -> Any:
    return await hook("conf_door", timeout=timeout)


@workflow(name="conf_hook_expiry")
async def hook_expiry_flow(tag: str, timeout: float) -> Any:
    """Catches its hook's expiry and goes on."""
    try:
        return await hook("conf_door", timeout=timeout)
    except Exception as exc:
        return {"expired": describe(exc), "after": await double(tag, 5)}


@workflow(name="conf_typed_hook")
async def typed_hook_flow(tag: str) -> dict[str, Any]:
    approval = await approval_hook()
    return {"type": type(approval).__name__, **approval.model_dump()}


@workflow(name="conf_signal")
async def signal_flow(tag: str, timeout: float | None = None) -> Any:
    return await wait_for_signal("go", timeout=timeout)


@workflow(name="conf_signal_timeout_caught")
async def signal_timeout_caught_flow(tag: str, timeout: float) -> Any:
    try:
        return await wait_for_signal("go", timeout=timeout)
    except Exception as exc:
        return describe(exc)


@workflow(name="conf_two_signals")
async def two_signals_flow(tag: str) -> list[Any]:
    return [await wait_for_signal("item"), await wait_for_signal("item")]


@workflow(name="conf_values")
async def values_flow(tag: str) -> str:
    await set_value("stage", "charging")
    await double(tag, 1)
    await set_value("stage", "done")
    await set_value("total", {"amount": 2, "currency": "EUR"})
    return "ok"


@workflow(name="conf_child_double")
async def child_double(tag: str, x: int) -> int:
    return await double(tag, x)


@workflow(name="conf_child_declined")
async def child_declined(tag: str) -> None:
    await declined(tag)


@workflow(name="conf_child_waiter")
async def child_waiter(tag: str) -> Any:
    """Waits for a "go" signal; cancelled, it cleans up (shielded) and says so."""
    try:
        return await wait_for_signal("go")
    except CancellationError:
        async with shield():
            await cleanup(tag)
        return "stopped"


@workflow(name="conf_parent")
async def parent_flow(tag: str, x: int) -> int:
    return await start_child_workflow(child_double, tag, x)


@workflow(name="conf_grandparent")
async def grandparent_flow(tag: str, x: int) -> int:
    return await start_child_workflow(parent_flow, tag, x) + 1


@workflow(name="conf_parent_of_failing")
async def parent_of_failing_flow(tag: str, catch: bool) -> Any:
    if not catch:
        return await start_child_workflow(child_declined, tag)
    try:
        return await start_child_workflow(child_declined, tag)
    except Exception as exc:
        return describe(exc)


@workflow(name="conf_parent_leaves")
async def parent_leaves_flow(tag: str, policy: str) -> str:
    """Starts a waiting child without waiting for it, waits for "release", and ends:
    the child's fate is its parent-close policy's."""
    await start_child_workflow(child_waiter, tag, wait_for_completion=False,
                               parent_close_policy=ParentClosePolicy(policy))
    await wait_for_signal("release")
    return "parent done"


@workflow(name="conf_parent_cancels_child")
async def parent_cancels_child_flow(tag: str) -> Any:
    handle = await start_child_workflow(child_waiter, tag, wait_for_completion=False)
    await wait_for_signal("release")
    await handle.cancel("not needed")
    try:
        return {"child": await handle.result()}
    except Exception as exc:
        return describe(exc)


@workflow(name="conf_parent_waits_child")
async def parent_waits_child_flow(tag: str) -> Any:
    """Awaits a waiting child; cancelled meanwhile, it ends cancelled (no catch)."""
    return await start_child_workflow(child_waiter, tag)


@workflow(name="conf_cancel_in_step")
async def cancel_in_step_flow(tag: str) -> str:
    try:
        return await wait_for_cancel(tag)  # type: ignore[misc]
    except CancellationError:
        async with shield():
            await cleanup(tag)
        raise


@workflow(name="conf_check_cancellation")
async def check_cancellation_flow(tag: str) -> str:
    try:
        return await check_cancellation(tag)  # type: ignore[misc]
    except CancellationError:
        async with shield():
            await cleanup(tag)
        raise


@workflow(name="conf_cancel_in_sleep")
async def cancel_in_sleep_flow(tag: str) -> str:
    try:
        await sleep("30s")
    except CancellationError:
        async with shield():
            await cleanup(tag)
        raise
    return "slept"


@workflow(name="conf_cancel_in_hook")
async def cancel_in_hook_flow(tag: str) -> Any:
    try:
        return await hook("conf_door")
    except CancellationError:
        async with shield():
            await cleanup(tag)
        raise


@workflow(name="conf_cancel_unhandled")
async def cancel_unhandled_flow(tag: str) -> Any:
    await wait_for_signal("never")


@workflow(name="conf_shielded_sleep")
async def shielded_sleep_flow(tag: str) -> str:
    """Cancelled in a sleep, its cleanup sleeps too, shielded, then runs a step."""
    try:
        await sleep("30s")
    except CancellationError:
        async with shield():
            await sleep(0.2)
            await cleanup(tag)
        raise
    return "slept"


@workflow(name="conf_shield_outside_cancel")
async def shield_outside_cancel_flow(tag: str) -> int:
    """shield() with no cancel around is transparent."""
    async with shield():
        first = await double(tag, 3)
        await sleep(0.1)
    return first


@workflow(name="conf_patched")
async def patched_flow(tag: str) -> int:
    if patched("conf-v2"):
        return await double(tag, 10)
    return await double(tag, 1)


@workflow(name="conf_deprecated_patch")
async def deprecated_patch_flow(tag: str) -> int:
    deprecate_patch("conf-v2")
    return await double(tag, 10)


@workflow(name="conf_counter")
async def counter_flow(tag: str, n: int, total: int) -> int:
    total += await double(tag, n)
    if n >= 3:
        return total
    await continue_as_new(tag, n + 1, total)


@workflow(name="conf_deadline", max_duration="0.5s")
async def deadline_flow(tag: str) -> str:
    try:
        await sleep("30s")
    except CancellationError:
        async with shield():
            await cleanup(tag)
        raise
    return "slept"


@workflow(name="conf_idempotent")
async def idempotent_flow(tag: str) -> int:
    return await double(tag, 4)


@workflow(name="conf_collect")
async def collect_flow(tag: str, count: int, nap: float) -> list[Any]:
    """Sleeps ``nap`` (signals sent meanwhile are kept), then takes ``count`` "item"s."""
    await sleep(nap)
    return [await wait_for_signal("item") for _ in range(count)]


def _log_context() -> dict[str, Any]:
    """What a log line written here carries: the run's fields bound by the runtime."""
    bound = structlog.contextvars.get_contextvars()
    return {key: bound.get(key) for key in ("workflow", "step", "attempt")} | {
        "run_id": bool(bound.get("run_id"))}


@step(name="conf_log_context", max_retries=0)
def log_context_step(tag: str) -> dict[str, Any]:
    return _log_context()


@workflow(name="conf_log_context")
async def log_context_flow(tag: str) -> dict[str, Any]:
    in_workflow = _log_context()
    return {"workflow_code": in_workflow, "step": await log_context_step(tag)}


# Celery tasks awaited as steps: their module imports this one's helpers.
from tests.conformance import celery_tasks  # noqa: E402, F401
