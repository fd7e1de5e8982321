"""``pyworkflow.map`` on a real worker: results in order, at most ``concurrency`` calls in
flight (from the journal), and past ``batch_size`` a parent history of two events per
batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._workers import Worker

MODULE = "tests.flow_workflows"


def _most_in_flight(events: list[dict[str, Any]]) -> int:
    open_calls: set[int] = set()
    most = 0
    for event in events:  # in journal order
        if event["type"] == "step_scheduled":
            open_calls.add(event["data"]["call_id"])
            most = max(most, len(open_calls))
        elif event["type"] == "step_completed":
            open_calls.discard(event["data"]["call_id"])
    return most


def test_map_returns_results_in_order_with_at_most_concurrency_in_flight(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, "flow-map", pool="threads", concurrency=8).start()
    try:
        run_id = pyworkflow.start("map_doubled", 40, 5, 1000)
        assert pyworkflow.get_result(run_id, timeout=60) == [2 * i for i in range(40)]
        assert _most_in_flight(pyworkflow.get_workflow_events(run_id)) == 5

        batched = pyworkflow.start("map_doubled", 250, 20, 100)
        assert pyworkflow.get_result(batched, timeout=120) == [2 * i for i in range(250)]
        parent = pyworkflow.get_workflow_events(batched)
        children = [e["data"]["child_run_id"] for e in parent if e["type"] == "child_started"]
        assert len(children) == 3  # 100 + 100 + 50
        assert len(parent) <= 2 + 2 * len(children)  # two events per batch, not per item
        for child in children:
            events = pyworkflow.get_workflow_events(child)
            assert len(events) <= 2 + 2 * 100
            assert _most_in_flight(events) <= 20
    finally:
        worker.stop()


def test_bad_map_input_is_refused() -> None:
    import tests.flow_workflows as flows

    with pytest.raises(TypeError, match="@step or a @workflow"):
        asyncio.run(pyworkflow.map(len, [1]))
    with pytest.raises(ValueError, match="concurrency"):
        asyncio.run(pyworkflow.map(flows.doubled, [1], concurrency=0))
    assert asyncio.run(pyworkflow.map(flows.doubled, [1, 2])) == [2, 4]  # outside a run


def test_twenty_thousand_items_cost_the_parent_two_events_per_batch() -> None:
    """In the test environment (in process): 20 batches of 1,000; the parent's history
    grows with the batches, each child's with its batch (100,000 items: 202 events)."""
    import tests.flow_workflows as flows
    from pyworkflow.testing import WorkflowEnvironment

    with WorkflowEnvironment() as env:
        handle = env.start(flows.map_doubled, 20_000, 50, 1000)
        assert handle.result() == [2 * i for i in range(20_000)]
        parent = handle.events()
        children = [e["data"]["child_run_id"] for e in parent if e["type"] == "child_started"]
        assert len(children) == 20 and len(parent) == 2 + 2 * 20
        assert max(len(env.events(child)) for child in children) == 2 + 2 * 1000
