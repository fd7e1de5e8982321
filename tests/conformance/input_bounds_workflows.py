"""The workflows of the input-bounds conformance cases (issue 24), the module their
celery workers import (``test_input_bounds.py``). Each takes the suite's ``tag`` first
and returns what the workflow code saw of each bad call, as plain data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pyworkflow import StepFailedError, hook, set_value, sleep, step, wait_for_signal, workflow
from pyworkflow.serialization import MAX_VALUE_BYTES
from tests.conformance.workflows import mark

#: One character more than every name bound (``pyworkflow.limits``: 200).
LONG_NAME = "n" * 201


async def raised(call: Callable[[], Awaitable[Any]]) -> str:
    """The class of what ``call`` raised, and whether its message names the bound."""
    try:
        await call()
    except Exception as exc:
        return f"{type(exc).__name__}{' naming 200' if '200' in str(exc) else ''}"
    return "nothing raised"


@workflow(name="conf_ib_long_names")
async def long_names(tag: str) -> dict[str, str]:
    return {"wait_for_signal": await raised(lambda: wait_for_signal(LONG_NAME)),
            "hook": await raised(lambda: hook(LONG_NAME)),
            "set_value": await raised(lambda: set_value(LONG_NAME, 1))}


@workflow(name="conf_ib_many_value_keys")
async def many_value_keys(tag: str, count: int) -> str:
    for i in range(count):
        await set_value(f"k{i}", i)
    await set_value("k0", "again")  # a key already set can be set again
    return await raised(lambda: set_value("one more", 1))


#: One second more than the longest duration (``durations.MAX_DURATION_S``: 100 years).
PAST_100_YEARS_S = 100 * 365.25 * 86400 + 1


@workflow(name="conf_ib_long_sleep")
async def long_sleep(tag: str) -> str:
    return await raised(lambda: sleep(PAST_100_YEARS_S))


@workflow(name="conf_ib_long_timeouts")
async def long_timeouts(tag: str) -> dict[str, str]:
    return {"wait_for_signal": await raised(
                lambda: wait_for_signal("go", timeout=PAST_100_YEARS_S)),
            "hook": await raised(lambda: hook("h", timeout=PAST_100_YEARS_S))}


@step(name="conf_ib_huge_result", max_retries=2)
async def huge_result_step(tag: str) -> str:
    mark(tag)
    return "x" * (MAX_VALUE_BYTES + 1)


@workflow(name="conf_ib_huge_result")
async def huge_result(tag: str) -> dict[str, Any]:
    """A step whose result is over ``serialization.MAX_VALUE_BYTES`` fails for good (the
    same result again would not fit either): caught, with the bound named."""
    try:
        await huge_result_step(tag)
    except StepFailedError as exc:
        return {"caught": type(exc).__name__, "names_bound": str(MAX_VALUE_BYTES) in str(exc)}
    return {"caught": None, "names_bound": False}
