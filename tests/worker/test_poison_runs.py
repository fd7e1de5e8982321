"""Poison work on real workers: a turn or a step that kills its worker each time is
parked, never looped, and an operator's retry resumes it where it stopped; a failed run
retried by an operator re-opens from its failed step (the rest of the fault tolerance
tests: test_fault_tolerance.py).

Every test starts (and kills) its own worker; none is shared.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import pyworkflow
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done
from tests.worker.test_fault_tolerance import assert_clean_journal, events

CRASH = "tests.crash_workflows"


@pytest.mark.parametrize("workflow", ["poison_turn_workflow", "poison_wake_workflow"])
def test_poison_turn_parks_then_retry_resumes_where_it_stopped(  # type: ignore[no-untyped-def]
        rt, log_dir: Path, workflow: str) -> None:
    """Workflow code that kills its worker, after a step (its result held by the begin
    before the code runs) or after a sleep (a timer's turn, which may be decided before
    it begins, ``actors.fast.early_turn``): counted as the turn's death, never a loop."""
    import tests.crash_workflows  # noqa: F401

    key = uuid.uuid4().hex[:6]
    poison = f"{rt.settings.key_prefix}:test:poison:{key}"
    rt.redis.set(poison, 1)
    worker = Worker(CRASH, log_dir, f"poison-{key}", pool="prefork", concurrency=2).start()
    try:
        run_id = pyworkflow.start(workflow, key)
        final = wait_done(run_id, 90)
        assert final["status"] == "parked", final
        assert final["error"]["type"] == "PoisonTurnError"
        recovered = [e for e in events(run_id) if e["type"] == "workflow_recovered"]
        assert 1 <= len(recovered) <= 5
        rt.redis.delete(poison)  # "fix the code"
        pyworkflow.retry_run(run_id)
        final = wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "completed"
                         and pyworkflow.get_workflow_run(run_id), 30, 0.1, "the retried run")
        assert final.result == 400
        first_step = [e for e in events(run_id) if e["type"] == "step_scheduled"
                      and e["data"]["call_id"] == 1]
        assert len(first_step) == 1  # resumed from where it stopped, not from the start
    finally:
        worker.kill()


def test_poison_step_parks_then_retry_runs_the_step_again(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    import tests.crash_workflows  # noqa: F401

    key = uuid.uuid4().hex[:6]
    poison = f"{rt.settings.key_prefix}:test:poison:{key}"
    rt.redis.set(poison, 1)
    worker = Worker(CRASH, log_dir, f"pstep-{key}", pool="prefork", concurrency=2).start()
    try:
        run_id = pyworkflow.start("poison_step_workflow", key)
        final = wait_done(run_id, 90)
        assert final["status"] == "parked", final
        assert final["error"]["type"] == "PoisonStepError"
        rt.redis.delete(poison)
        pyworkflow.retry_run(run_id)
        # 60 s: if the prefork pool lost the job while replacing its dead children, the
        # attempt's reservation lapses after 30 s and the attempt is sent again.
        wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "completed", 60, 0.1,
                 "the retried run")
        assert pyworkflow.get_workflow_run(run_id).result == "survived"
        assert len([e for e in events(run_id) if e["type"] == "step_completed"
                    and e["data"]["call_id"] == 1]) == 1
    finally:
        worker.kill()


def test_operator_retry_reopens_a_failed_run_from_its_failed_step(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    import tests.crash_workflows  # noqa: F401

    key = uuid.uuid4().hex[:6]
    flag = f"{rt.settings.key_prefix}:test:poison:{key}"
    rt.redis.set(flag, 1)
    worker = Worker(CRASH, log_dir, f"reopen-{key}", pool="threads", concurrency=2).start()
    try:
        run_id = pyworkflow.start("fix_then_retry_workflow", key)
        final = wait_done(run_id, 30)
        assert final["status"] == "failed"
        assert final["error"]["type"] == "StepFailedError"
        rt.redis.delete(flag)  # the operator fixes the cause
        pyworkflow.retry_run(run_id)
        wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "completed", 30, 0.1,
                 "the re-opened run to complete")
        assert pyworkflow.get_workflow_run(run_id).result == ["20", "fixed"]
        evs = events(run_id)
        assert len([e for e in evs if e["type"] == "step_scheduled"
                    and e["data"]["call_id"] == 1]) == 1  # the first step did not run again
        assert [e["type"] for e in evs].count("workflow_failed") == 1  # history kept
        assert any(e["type"] == "run_retried" for e in evs)
        assert_clean_journal(run_id)
    finally:
        worker.stop()
