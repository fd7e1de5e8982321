"""Issue 24: a workflow's arguments are bounded in all (``MAX_ARGUMENTS_BYTES`` of
compact JSON, besides ``MAX_BYTES`` each), by the one check every run's arguments pass
(``serialization.check_arguments``): a start, a child, a continue-as-new, a schedule."""

from __future__ import annotations

from typing import Any

import pytest

from pyworkflow import continue_as_new, start_child_workflow, workflow
from pyworkflow.schedules.api import build_spec
from pyworkflow.serialization import (
    MAX_ARGUMENTS_BYTES,
    MAX_BYTES,
    PayloadError,
    check_arguments,
)
from pyworkflow.testing import WorkflowEnvironment

#: A string argument whose JSON (its quotes too) is just under one argument's limit.
NEAR_1MB = "x" * (MAX_BYTES - 100)


@workflow(name="ib_takes_any")
async def takes_any(*args: Any, **kwargs: Any) -> int:
    return len(args) + len(kwargs)


@workflow(name="ib_child_parent")
async def child_parent(count: int) -> str:
    try:
        await start_child_workflow(takes_any, *([NEAR_1MB] * count))
    except PayloadError as exc:
        return f"refused: {exc}"
    return "started"


@workflow(name="ib_continues")
async def continues(count: int, *rest: str) -> str:
    if rest:
        return "continued"
    try:
        await continue_as_new(count, *([NEAR_1MB] * count))
    except PayloadError as exc:
        return f"refused: {exc}"
    return "continued"


def test_the_total_of_the_arguments_is_bounded_each_within_its_own() -> None:
    assert MAX_ARGUMENTS_BYTES == 4 * MAX_BYTES
    args, kwargs = check_arguments((NEAR_1MB,) * 3, {"d": NEAR_1MB})  # 4 x (1 MB - 98)
    assert len(args) == 3 and len(kwargs) == 1
    with pytest.raises(PayloadError) as refused:
        check_arguments((NEAR_1MB,) * 3, {"d": NEAR_1MB, "e": "x" * 500})
    assert refused.value.reason == "size" and refused.value.limit == MAX_ARGUMENTS_BYTES
    assert refused.value.argument == "e"
    assert f"at most {MAX_ARGUMENTS_BYTES} bytes of JSON in all" in str(refused.value)


def test_many_small_arguments_count_as_much_as_few_large_ones() -> None:
    with pytest.raises(PayloadError, match="in all"):
        check_arguments(("y" * 1000,) * 5000, {})


def test_a_start_over_the_total_is_refused_before_anything_is_written() -> None:
    with WorkflowEnvironment() as env:
        with pytest.raises(PayloadError, match="in all"):
            env.start("ib_takes_any", *([NEAR_1MB] * 5))
        assert env.start("ib_takes_any", *([NEAR_1MB] * 4)).result() == 4


@pytest.mark.parametrize(("workflow_name", "count", "outcome"), [
    ("ib_child_parent", 5, "refused: a workflow's arguments are at most"),
    ("ib_child_parent", 4, "started"),
    ("ib_continues", 5, "refused: a workflow's arguments are at most"),
    ("ib_continues", 3, "continued"),
])
def test_a_child_or_continue_as_new_over_the_total_raises_in_the_code(
        workflow_name: str, count: int, outcome: str) -> None:
    with WorkflowEnvironment() as env:
        handle = env.start(workflow_name, count)
        assert str(handle.result()).startswith(outcome)


def test_a_schedule_over_the_total_is_refused_when_made() -> None:
    with pytest.raises(PayloadError, match="in all"):
        build_spec("ib_takes_any", args=[NEAR_1MB] * 5, interval=60)
