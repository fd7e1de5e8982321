"""Issue 24 in the engine (in memory): a signal whose payload breaks the door's limits
(over ``serialization.MAX_BYTES`` of JSON, or too deep), forged or from an old client,
is refused (dead-lettered with the reason by the runtime, never journaled), whether or
not a wait would take it at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyworkflow import events as ev
from pyworkflow import sleep, wait_for_signal, workflow
from pyworkflow.engine import memory_ports
from pyworkflow.serialization import MAX_BYTES, MAX_DEPTH
from tests.engine.harness import QUEUES, Harness
from tests.engine.test_signal_bounds import refused

#: A string payload whose JSON (two quotes) is one byte over the limit.
OVER = "x" * (MAX_BYTES - 1)
#: And one exactly at it.
AT = "x" * (MAX_BYTES - 2)


@workflow(name="ibs_wait_go")
async def wait_go() -> Any:
    return len(json.dumps(await wait_for_signal("go")))


@workflow(name="ibs_sleep_then_wait")
async def sleep_then_wait() -> Any:
    await sleep("1h")
    return len(json.dumps(await wait_for_signal("go")))


def started(workflow_name: str) -> Harness:
    h = Harness(f"run-{workflow_name}", memory_ports(queues=QUEUES))
    h.send("start", workflow=workflow_name, args=[], kwargs={})
    return h


@pytest.mark.parametrize("workflow_name", ["ibs_wait_go", "ibs_sleep_then_wait"])
def test_a_signal_over_1mb_is_refused_waited_for_or_not(workflow_name: str) -> None:
    h = started(workflow_name)
    before = list(h.journal)
    reason = refused(h, "signal", name="go", payload=OVER, signal_id="s-big")
    assert reason == (f"signal refused: signal payload is {MAX_BYTES + 1} bytes of JSON, "
                      f"over the limit of {MAX_BYTES}")
    assert h.journal == before and h.record["status"] == "suspended"
    h.send("signal", name="go", payload=AT, signal_id="s-at")  # the limit itself is fine
    if workflow_name == "ibs_sleep_then_wait":
        assert h.types()[-1] == ev.SIGNAL_RECEIVED
        h.send("timer-fired", purpose="sleep", call_id=1)
    assert h.record["status"] == "completed"
    assert json.loads(h.record["result"]) == MAX_BYTES


def test_a_signal_nested_too_deep_is_refused() -> None:
    h = started("ibs_wait_go")
    payload: Any = 1
    for _ in range(MAX_DEPTH + 1):
        payload = [payload]
    assert "nested more than" in refused(h, "signal", name="go", payload=payload,
                                         signal_id="s-deep")
    assert h.types() == [ev.WORKFLOW_STARTED, ev.SIGNAL_WAIT_STARTED]
