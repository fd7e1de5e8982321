"""Issue 24 in the engine (in memory): names given in workflow code are bounded like a
signal's (``wait_for_signal(name)``, ``hook(name)``, ``set_value(key, ...)``), and a run
sets a bounded number of distinct value keys; a call past a bound raises in the
workflow code, and nothing is journaled for it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyworkflow import events as ev
from pyworkflow import hook, set_value, wait_for_signal, workflow
from pyworkflow.engine import memory_ports
from pyworkflow.engine.commands.hook import MAX_HOOK_NAME_CHARS
from pyworkflow.engine.commands.value import MAX_VALUE_KEY_CHARS, MAX_VALUE_KEYS
from pyworkflow.limits import MAX_SIGNAL_NAME_CHARS
from tests.engine.harness import QUEUES, Harness


def seen(exc: BaseException) -> dict[str, str]:
    return {"caught": type(exc).__name__, "message": str(exc)}


@workflow(name="ib_signal_name")
async def signal_name(name: str) -> Any:
    try:
        await wait_for_signal(name, timeout="1h")
    except (TypeError, ValueError) as exc:
        return seen(exc)
    return "waited"


@workflow(name="ib_hook_name")
async def hook_name(name: str) -> Any:
    try:
        await hook(name, timeout="1h")
    except (TypeError, ValueError) as exc:
        return seen(exc)
    return "waited"


@workflow(name="ib_value_key")
async def value_key(key: str) -> Any:
    try:
        await set_value(key, 1)
    except (TypeError, ValueError) as exc:
        return seen(exc)
    return "set"


@workflow(name="ib_many_keys")
async def many_keys(count: int) -> Any:
    for i in range(count):
        await set_value(f"k{i}", i)
    await set_value("k0", "again")  # a key already set can always be set again
    try:
        await set_value("one-more", 1)
    except ValueError as exc:
        return seen(exc)
    return "set"


def ended(workflow_name: str, *args: Any) -> tuple[Harness, Any]:
    h = Harness(f"run-{workflow_name}", memory_ports(queues=QUEUES))
    h.send("start", workflow=workflow_name, args=list(args), kwargs={})
    result = json.loads(h.record["result"]) if "result" in h.record else None
    return h, result


@pytest.mark.parametrize(("workflow_name", "limit", "what"), [
    ("ib_signal_name", MAX_SIGNAL_NAME_CHARS, "signal name"),
    ("ib_hook_name", MAX_HOOK_NAME_CHARS, "hook name"),
    ("ib_value_key", MAX_VALUE_KEY_CHARS, "value key"),
])
def test_a_name_past_its_bounds_raises_value_error_in_the_code(workflow_name: str, limit: int,
                                                               what: str) -> None:
    assert limit == 200
    h, result = ended(workflow_name, "n" * (limit + 1))
    assert result["caught"] == "ValueError"
    assert f"a {what} is at most {limit} characters; this one has {limit + 1}" \
        in result["message"]
    assert h.types() == [ev.WORKFLOW_STARTED, ev.WORKFLOW_COMPLETED]  # nothing journaled
    h, result = ended(workflow_name, "bell\x07")
    assert result["caught"] == "ValueError" and "printable" in result["message"]
    h, result = ended(workflow_name, "")
    assert result["caught"] == "TypeError" and "non-empty string" in result["message"]
    h, result = ended(workflow_name, "n" * limit)  # the longest is fine
    assert result in ("waited", "set") or h.record["status"] == "suspended"
    assert len(h.types()) >= 2 and h.types()[1] != ev.WORKFLOW_COMPLETED


def test_a_run_sets_a_bounded_number_of_distinct_value_keys() -> None:
    h, result = ended("ib_many_keys", MAX_VALUE_KEYS)
    assert result["caught"] == "ValueError"
    assert f"at most {MAX_VALUE_KEYS} distinct value keys" in result["message"]
    assert h.types().count(ev.VALUE_SET) == MAX_VALUE_KEYS + 1  # the repeat of k0 too
    values = json.loads(h.record["values"])
    assert len(values) == MAX_VALUE_KEYS and values["k0"] == "again"
    h, result = ended("ib_many_keys", MAX_VALUE_KEYS - 1)
    assert result == "set"
