"""Workflows for crash tests: they can stall a turn so a test can kill its worker.

``stall_once(key)``: if the Redis key exists, delete it, record this process's pid
and block for a while. Only the first turn that gets there stalls; the recovered
turn on another worker runs straight through. (Reading Redis from workflow code
is not deterministic; here it only changes timing, never the commands issued.)
"""

from __future__ import annotations

import os
import time

from pyworkflow import continue_as_new, sleep, start_child_workflow, step, workflow
from pyworkflow.worker import _runtime


def stall_once(key: str, seconds: float = 30.0) -> None:
    rt = _runtime.runtime()
    full = f"{rt.settings.key_prefix}:test:{key}"
    if rt.redis.delete(full):
        rt.redis.set(f"{full}:pid", os.getpid())
        time.sleep(seconds)


@step()
async def crash_child_step(x: int) -> int:
    return x + 1


@workflow()
async def crash_child(x: int) -> int:
    return await crash_child_step(x)


@workflow()
async def crash_parent(key: str) -> int:
    stall_once(key)
    return await start_child_workflow(crash_child, 41)


@workflow()
async def crash_parent_with_unknown_child() -> str:
    try:
        await start_child_workflow("no_such_child_workflow")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "started?"


def _poisoned(key: str) -> bool:
    rt = _runtime.runtime()
    return bool(rt.redis.exists(f"{rt.settings.key_prefix}:test:poison:{key}"))


@step()
async def before_poison(x: int) -> int:
    return x * 10


@step(max_retries=5, retry_delay=0.2)
async def maybe_poison_step(key: str) -> str:
    if _poisoned(key):
        os._exit(1)  # simulates a step that kills its worker (segfault, OOM kill)
    return "survived"


@workflow()
async def poison_turn_workflow(key: str) -> int:
    value = await before_poison(4)
    if _poisoned(key):
        os._exit(1)  # workflow code that kills the worker running the turn
    return await before_poison(value)


@workflow()
async def poison_wake_workflow(key: str) -> int:
    value = await before_poison(4)
    await sleep(0.2)
    if _poisoned(key):
        os._exit(1)  # workflow code that kills the worker running the turn a timer woke
    return await before_poison(value)


@workflow()
async def poison_step_workflow(key: str) -> str:
    await before_poison(1)
    return await maybe_poison_step(key)


@step(max_retries=1, retry_delay=0.1)
async def fails_while_flagged(key: str) -> str:
    if _poisoned(key):
        raise ValueError("the downstream service is misconfigured")
    return "fixed"


@workflow()
async def fix_then_retry_workflow(key: str) -> list[str]:
    first = await before_poison(2)
    return [str(first), await fails_while_flagged(key)]


@workflow()
async def crash_continuing(key: str, n: int, total: int) -> int:
    """Adds n to total and continues as new up to n = 5; the turn that continues from
    n = 3 stalls once (the test kills its worker there)."""
    total += await crash_child_step(n) - 1
    if n >= 5:
        return total
    if n == 3:
        stall_once(key)
    await continue_as_new(key, n + 1, total)
    return -1
