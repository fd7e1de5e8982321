"""Children under crashes: no module-wide workers here, each test starts its own."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pyworkflow
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done


def _runs_of(workflow: str, parent: str) -> list[Any]:
    return [r for r in pyworkflow.list_workflow_runs(workflow=workflow, limit=1000)
            if r.parent_run_id == parent]


def test_sigkill_during_the_turn_that_starts_a_child_starts_it_once(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    module = "tests.crash_workflows"
    victim = Worker(module, log_dir, "crash-victim", pool="threads", concurrency=2).start()
    survivor = Worker(module, log_dir, "crash-survivor", pool="threads", concurrency=2)
    key = f"stall-{uuid.uuid4().hex[:6]}"
    full = f"{rt.settings.key_prefix}:test:{key}"
    rt.redis.set(full, 1)
    try:
        import tests.crash_workflows  # noqa: F401

        run_id = pyworkflow.start("crash_parent", key)
        wait_for(lambda: rt.redis.get(f"{full}:pid"), 20, 0.05, "the parent's turn to stall")
        survivor.start()
        victim.kill()
        killed = time.monotonic()
        final = wait_done(run_id, 40)
        assert final["status"] == "completed" and final["result"] == 42
        print(f"parent completed {time.monotonic() - killed:.1f}s after the kill")
        started = [e for e in pyworkflow.get_workflow_events(run_id)
                   if e["type"] == "child_started"]
        assert len(started) == 1
        assert len(_runs_of("crash_child", run_id)) == 1
    finally:
        victim.kill()
        survivor.stop()


def test_a_child_that_cannot_start_fails_the_parent_at_once(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    w = Worker("tests.crash_workflows", log_dir, "unknown-child", pool="threads",
               concurrency=2).start()
    try:
        import tests.crash_workflows  # noqa: F401

        began = time.monotonic()
        final = wait_done(pyworkflow.start("crash_parent_with_unknown_child"), 10)
        assert time.monotonic() - began < 5
        assert final["result"].startswith("WorkflowNotFoundError")
        assert "no_such_child_workflow" in final["result"]
    finally:
        w.stop()
