"""Steps run in place on real workers: fewer broker hops, nothing lost when one dies.

A turn's next step is kept by the worker process that sent it and run right there
(``actors.fast.in_place``), within a time budget; a SIGKILL in the middle of such a
line of steps must lose no step and record none twice.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyworkflow
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done
from tests.worker.test_fault_tolerance import assert_clean_journal, events

MODULE = "tests.in_place_workflows"


def _step_tasks_received(worker: Worker) -> int:
    return worker.log_text().count("Task pyworkflow.step[")


def test_a_line_of_steps_runs_mostly_in_place(rt: Any, log_dir: Path) -> None:
    import tests.in_place_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, f"inplace-{uuid.uuid4().hex[:6]}").start()
    try:
        run_id = pyworkflow.start("line_of_steps", 40)
        final = wait_done(run_id, 60)
        assert final["status"] == "completed", final
        assert final["result"] == sum(range(40))
        assert_clean_journal(run_id)
        assert len([e for e in events(run_id) if e["type"] == "step_completed"]) == 40
        # Without in-place steps every one of the 40 would be a task from the broker.
        assert _step_tasks_received(worker) <= 20, _step_tasks_received(worker)
    finally:
        worker.stop()


def test_a_worker_killed_in_a_line_of_steps_loses_none(rt: Any, log_dir: Path) -> None:
    import tests.in_place_workflows  # noqa: F401

    key = uuid.uuid4().hex[:6]
    victim = Worker(MODULE, log_dir, f"inplace-victim-{key}").start()
    survivor: Worker | None = None
    try:
        run_id = pyworkflow.start("line_of_steps", 60, 0.02)
        wait_for(lambda: len([e for e in events(run_id) if e["type"] == "step_completed"])
                 >= 10, 30, 0.01, "ten steps done")
        victim.kill()  # SIGKILL, mid-step or mid-turn, most likely in a kept step
        survivor = Worker(MODULE, log_dir, f"inplace-survivor-{key}").start()
        final = wait_done(run_id, 90)
        assert final["status"] == "completed", final
        assert final["result"] == sum(range(60))
        assert_clean_journal(run_id)
        done = [e["data"]["call_id"] for e in events(run_id) if e["type"] == "step_completed"]
        assert len(done) == 60
    finally:
        victim.kill()
        if survivor is not None:
            survivor.stop()
