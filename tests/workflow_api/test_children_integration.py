"""Child workflows with real workers: examples 09 and 10, and a crash mid-turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._workers import Worker, wait_for, worker_pool
from tests.cli.test_examples_cli import cli, cli_json, wait_done

PACKAGE = "examples.celery.durable"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(PACKAGE, log_dir, "ch", pool="prefork", concurrency=2) as pool:
        yield pool


def test_09_order_fulfillment_through_the_cli(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = cli_json("--module", f"{PACKAGE}.09_child_workflows", "workflows", "run",
                      "order_fulfillment_workflow", "--arg", "order_id=order-456",
                      "--arg", "amount=149.99",
                      "--arg", "customer_email=customer@example.com")["run_id"]
    final = wait_done(run_id)
    assert final["status"] == "completed", final
    result = final["result"]
    assert result["payment"] == {"order_id": "order-456", "charged": 149.99,
                                 "transaction_id": "txn-order-456"}
    assert result["shipping"]["tracking_number"] == "TRACK-ORDER-456"
    notification = wait_done(result["notification_run_id"])
    assert notification["status"] == "completed"
    assert notification["parent_run_id"] == run_id
    started = [e for e in pyworkflow.get_workflow_events(run_id) if e["type"] == "child_started"]
    assert [e["data"]["workflow"] for e in started] == [
        "payment_child_workflow", "shipping_workflow", "notification_workflow"]
    for e in started:
        child = pyworkflow.get_workflow_run(e["data"]["child_run_id"])
        assert child.parent_run_id == run_id and child.status == "completed"


def test_10_nested_three_levels(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("nested_parent_workflow", "root")
    final = wait_done(run_id)
    assert final["result"] == {"level": 1, "child": {
        "level": 2, "work": "root/child done",
        "child": {"level": 3, "work": "root/child/grandchild done"}}}


def test_10_parallel_children_as_the_readme_runs_it(workers) -> None:  # type: ignore[no-untyped-def]
    out = cli("--module", f"{PACKAGE}.10_child_workflow_patterns", "workflows", "run",
              "parallel_parent_workflow")
    run_id = next(w for w in out.stdout.split() if w.startswith("run-"))
    final = wait_done(run_id)
    assert final["result"]["children"] == 3
    assert [r["index"] for r in final["result"]["results"]] == [0, 1, 2]
    events = pyworkflow.get_workflow_events(run_id)
    starts = [e["seq"] for e in events if e["type"] == "child_started"]
    first_done = min(e["seq"] for e in events if e["type"] == "child_completed")
    assert len(starts) == 3 and max(starts) < first_done  # started together


def test_10_parent_catches_a_failed_child(workers) -> None:  # type: ignore[no-untyped-def]
    final = wait_done(pyworkflow.start("error_handling_parent_workflow"))
    result = final["result"]
    assert result["handled"] is True and result["error_type"] == "FatalError"
    assert "warehouse is closed" in result["error"]
    assert pyworkflow.get_workflow_run(result["child_run_id"]).status == "failed"


def test_10_nesting_stops_at_three_levels(workers) -> None:  # type: ignore[no-untyped-def]
    final = wait_done(pyworkflow.start("max_depth_workflow"), 60)
    depth, node = 0, final["result"]
    while "child" in node:
        depth, node = depth + 1, node["child"]
    assert depth == 3
    assert "exceeds the maximum of 3" in node["stopped"]


def test_cancelling_a_parent_cancels_its_children(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("parallel_parent_workflow", 2, "60s")

    def two_children() -> list[dict[str, Any]] | None:
        found = [e for e in pyworkflow.get_workflow_events(run_id) if e["type"] == "child_started"]
        return found if len(found) == 2 else None

    started = wait_for(two_children, 20, 0.05, "two children")
    children = [e["data"]["child_run_id"] for e in started]
    for child in children:
        wait_for(lambda c=child: _status(c) == "suspended", 20, 0.05, "the child to sleep")
    final = pyworkflow.cancel_workflow(run_id, reason="stop", wait=True, timeout=30)
    assert final.status == "cancelled"
    for child in children:  # TERMINATE: each child is cancelled and ends cancelled
        wait_for(lambda c=child: _status(c) == "cancelled", 20, 0.05, "the child to cancel")


def _status(run_id: str) -> str | None:
    try:
        return pyworkflow.get_workflow_run(run_id).status
    except pyworkflow.RunNotFoundError:
        return None
