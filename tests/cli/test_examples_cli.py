"""Examples 01–04 through the CLI, exactly as the seed README types them, on real workers."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for, worker_pool

PACKAGE = "examples.celery.durable"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(PACKAGE, log_dir, "ex", pool="prefork", concurrency=2) as pool:
        yield pool


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([PYWORKFLOW, *args], cwd=REPO, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"pyworkflow {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def cli_json(*args: str) -> Any:
    return json.loads(cli("--output", "json", *args).stdout)


def wait_done(run_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        try:
            info = pyworkflow.get_workflow_run(run_id)
        except pyworkflow.RunNotFoundError:
            return None  # a child's record appears with its first turn
        return info.to_dict() if info.finished or info.status == "parked" else None

    return wait_for(done, timeout, 0.05, f"run {run_id} to finish")  # type: ignore[no-any-return]


def test_01_basic_workflow_as_the_readme_runs_it(workers) -> None:  # type: ignore[no-untyped-def]
    out = cli("--module", f"{PACKAGE}.01_basic_workflow", "workflows", "run", "order_workflow",
              "--arg", "order_id=order-123", "--arg", "amount=99.99")
    run_id = next(w for w in out.stdout.split() if w.startswith("run-"))
    assert "runs status" in out.stdout  # it tells the user what to try next
    wait_done(run_id)
    status = cli_json("runs", "status", run_id)
    assert status["status"] == "completed", status
    assert status["error"] is None
    assert status["result"]["payment"]["charged"] == 99.99
    assert status["result"]["confirmation"] == "Order order-123 confirmed (txn-order-123)"
    events = cli_json("runs", "logs", run_id)
    assert [e["type"] for e in events] == [
        "workflow_started", "step_scheduled", "step_completed", "step_scheduled",
        "step_completed", "step_scheduled", "step_completed", "workflow_completed"]
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert all({"seq", "type", "timestamp", "data"} <= set(e) for e in events)
    steps = [e["data"]["step"] for e in events if e["type"] == ev.STEP_COMPLETED]
    assert steps == ["validate_order", "charge_payment", "send_confirmation"]
    listed = cli_json("runs", "list")
    assert run_id in [r["run_id"] for r in listed]
    table = cli("runs", "logs", run_id, "--type", "step_completed").stdout
    assert table.count("step_completed") == 3 and "workflow_started" not in table


def test_01_with_wait_follows_the_run_and_exits_0(workers) -> None:  # type: ignore[no-untyped-def]
    out = cli("--module", f"{PACKAGE}.01_basic_workflow", "workflows", "run", "order_workflow",
              "--arg", "order_id=order-9", "--arg", "amount=5", "--wait")
    assert "step_completed" in out.stdout and "completed" in out.stdout
    bad = cli("--module", f"{PACKAGE}.01_basic_workflow", "workflows", "run", "order_workflow",
              "--arg", "order_id=order-10", "--arg", "amount=-1", "--wait", check=False)
    assert bad.returncode != 0
    assert "FatalError" in bad.stdout + bad.stderr


def test_02_sleeps_durably_then_completes(workers) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    run_id = cli_json("--module", f"{PACKAGE}.02_long_running", "workflows", "run",
                      "onboarding_workflow", "--arg", "user_id=user-456",
                      "--arg", "delay=1.5s")["run_id"]
    wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "suspended", 10, 0.05,
             "the run to be suspended in its sleep")
    final = wait_done(run_id, 30)
    elapsed = time.monotonic() - started
    assert final["status"] == "completed", final
    assert final["result"]["emails"] == ["welcome", "tips", "survey"]
    assert elapsed >= 3.0, f"two 1.5 s sleeps took only {elapsed:.2f}s"
    events = pyworkflow.get_workflow_events(run_id)
    sleeps = [e for e in events if e["type"] == ev.SLEEP_STARTED]
    woke = [e for e in events if e["type"] == ev.SLEEP_COMPLETED]
    assert len(sleeps) == len(woke) == 2
    for s, w in zip(sleeps, woke, strict=True):
        assert w["timestamp"] * 1000 >= s["data"]["wake_at_ms"], "woke early"


def test_03_fifty_runs_never_hang(workers) -> None:  # type: ignore[no-untyped-def]
    endpoints = ["/api/data", "/api/fatal", "/api/down"]
    runs = [(ep, pyworkflow.start("retry_demo_workflow", ep, retry_after="0.1s"))
            for i in range(50) for ep in [endpoints[i % 3]]]
    finals = {run_id: wait_done(run_id, 90) for _, run_id in runs}
    for endpoint, run_id in runs:
        final = finals[run_id]
        if endpoint == "/api/data":
            assert final["status"] == "completed", final
            assert final["result"] == {"endpoint": "/api/data", "total": 6, "attempts": 3}
        elif endpoint == "/api/fatal":
            assert final["status"] == "failed" and final["error"]["type"] == "FatalError"
            failures = [e for e in pyworkflow.get_workflow_events(run_id)
                        if e["type"] == ev.STEP_FAILED]
            assert len(failures) == 1  # never retried
        else:
            assert final["status"] == "failed" and final["error"]["type"] == "RetryableError"
            failures = [e for e in pyworkflow.get_workflow_events(run_id)
                        if e["type"] == ev.STEP_FAILED]
            assert [f["data"]["attempt"] for f in failures] == [1, 2, 3, 4]


def test_03_through_the_cli(workers) -> None:  # type: ignore[no-untyped-def]
    out = cli("--module", f"{PACKAGE}.03_retries", "workflows", "run", "retry_demo_workflow",
              "--arg", "endpoint=/api/data", "--arg", "retry_after=0.2s", "--wait")
    assert "step_retrying" in out.stdout


def test_04_batch_runs_items_in_parallel(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = cli_json("--module", f"{PACKAGE}.04_batch_processing", "workflows", "run",
                      "batch_workflow", "--arg", "batch_id=batch-789", "--arg",
                      "limit=5")["run_id"]
    final = wait_done(run_id)
    assert final["result"] == {"batch_id": "batch-789", "processed": 5, "total": 200}
    events = pyworkflow.get_workflow_events(run_id)
    scheduled = [e for e in events if e["type"] == ev.STEP_SCHEDULED
                 and e["data"]["step"] == "process_item"]
    assert len(scheduled) == 5
    # All five were dispatched together, before any of them completed.
    first_done = min(e["seq"] for e in events if e["type"] == ev.STEP_COMPLETED
                     and e["data"]["step"] == "process_item")
    assert max(e["seq"] for e in scheduled) < first_done


@pytest.mark.parametrize("args,needle", [
    (["workflows", "run", "no_such_workflow"], "no_such_workflow"),
    (["workflows", "run", "order_workflow", "--arg", "order_id"], "--arg"),
    (["workflows", "run", "order_workflow", "--arg", "order_id=1", "--arg", "amout=2"],
     "amount"),
    (["runs", "status", "run-doesnotexist"], "run-doesnotexist"),
])
def test_cli_errors_are_one_clear_line(workers, args: list[str], needle: str) -> None:  # type: ignore[no-untyped-def]
    proc = cli("--module", f"{PACKAGE}.01_basic_workflow", *args, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr


def test_unserialisable_argument_is_refused_at_start(workers) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(pyworkflow.SerializationError, match="amount"):
        pyworkflow.start("order_workflow", "order-1", object())


def test_setup_check_passes_with_a_worker(workers) -> None:  # type: ignore[no-untyped-def]
    out = cli("--module", PACKAGE, "setup", "--check")
    assert out.returncode == 0
