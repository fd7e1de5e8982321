"""Fault tolerance with real workers: SIGKILL, SIGTERM, Redis restarts, poison work.

Every test starts (and kills) its own workers; none is shared.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._redis_server import RedisServer
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

EXAMPLE = "examples.celery.durable.06_fault_tolerance"
CRASH = "tests.crash_workflows"


def events(run_id: str) -> list[dict[str, Any]]:
    return list(pyworkflow.get_workflow_events(run_id))


def first(run_id: str, pred: Any) -> dict[str, Any] | None:
    return next((e for e in events(run_id) if pred(e)), None)


def assert_clean_journal(run_id: str) -> None:
    evs = events(run_id)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    done = [e["data"]["call_id"] for e in evs if e["type"] == "step_completed"]
    assert len(done) == len(set(done)), "a step's result was recorded twice"


@pytest.fixture
def pair(rt, log_dir: Path) -> Iterator[tuple[Worker, Worker]]:  # type: ignore[no-untyped-def]
    name = uuid.uuid4().hex[:4]
    victim = Worker(EXAMPLE, log_dir, f"victim-{name}", pool="threads", concurrency=2)
    survivor = Worker(EXAMPLE, log_dir, f"survivor-{name}", pool="threads", concurrency=2)
    import examples.celery.durable  # noqa: F401

    yield victim, survivor
    victim.kill()
    survivor.stop()


# serial: it times the recovery (within 10 s), which other tests' load would stretch
@pytest.mark.serial
def test_sigkill_during_a_step_recovers_within_10s(pair) -> None:  # type: ignore[no-untyped-def]
    victim, survivor = pair
    victim.start()
    run_id = pyworkflow.start("data_pipeline", "d1", step_seconds=3.0, pause="0.2s")
    wait_for(lambda: first(run_id, lambda e: e["type"] == "step_scheduled"), 15, 0.05,
             "the first step to be dispatched")
    survivor.start()
    time.sleep(0.5)  # let the victim get into the 3 s step it is running
    victim.kill()
    killed = time.monotonic()
    retried = wait_for(lambda: first(run_id, lambda e: e["type"] == "step_retrying"), 15, 0.05,
                       "the lost step to be retried")
    assert retried["data"]["step"] == "fetch_data"
    recovered_in = time.monotonic() - killed
    assert recovered_in < 10, recovered_in
    final = wait_done(run_id, 60)
    assert final["status"] == "completed", final
    lost = [e for e in events(run_id) if e["type"] == "step_failed"]
    assert [e["data"]["error_type"] for e in lost] == ["WorkerLostError"]
    assert_clean_journal(run_id)
    print(f"step recovered {recovered_in:.1f}s after SIGKILL")


def test_critical_pipeline_fails_when_its_worker_is_lost(pair) -> None:  # type: ignore[no-untyped-def]
    victim, survivor = pair
    victim.start()
    run_id = pyworkflow.start("critical_pipeline", "d2", step_seconds=3.0)
    wait_for(lambda: first(run_id, lambda e: e["type"] == "step_scheduled"), 15, 0.05,
             "the first step")
    survivor.start()
    time.sleep(0.5)
    victim.kill()
    final = wait_done(run_id, 20)
    assert final["status"] == "failed"
    assert final["error"]["type"] == "WorkerLostError"


def test_sleeping_runs_resume_within_10s_of_a_worker_starting(  # type: ignore[no-untyped-def]
        pair) -> None:
    victim, survivor = pair
    victim.start()
    runs = [pyworkflow.start("data_pipeline", f"s{i}", step_seconds=0.0, pause="2s")
            for i in range(5)]
    for run_id in runs:
        wait_for(lambda r=run_id: first(r, lambda e: e["type"] == "sleep_started"), 15, 0.05,
                 "the runs to sleep")
    victim.kill()  # no worker is left while they sleep past their wake-up time
    time.sleep(2.5)
    started = time.monotonic()
    survivor.start(wait=False)
    for run_id in runs:
        wait_for(lambda r=run_id: first(r, lambda e: e["type"] == "sleep_completed"), 30, 0.05,
                 "the sleep to complete")
    resumed_in = time.monotonic() - started
    assert resumed_in < 10 + 2, resumed_in  # includes the worker's own start-up
    for run_id in runs:
        assert wait_done(run_id, 60)["status"] == "completed"
        assert_clean_journal(run_id)


def test_sigterm_lets_the_step_in_flight_finish(pair) -> None:  # type: ignore[no-untyped-def]
    victim, survivor = pair
    victim.start()
    run_id = pyworkflow.start("critical_pipeline", "d3", step_seconds=2.0)
    wait_for(lambda: first(run_id, lambda e: e["type"] == "step_scheduled"), 15, 0.05,
             "the first step")
    survivor.start()
    stopped = time.monotonic()
    victim.stop(timeout=30)  # warm shutdown: SIGTERM
    assert time.monotonic() - stopped < 15
    final = wait_done(run_id, 30)
    assert final["status"] == "completed", final  # no worker was "lost"
    assert not [e for e in events(run_id) if e["type"] == "step_failed"]
    assert_clean_journal(run_id)




def test_redis_restart_mid_runs_loses_nothing(own_redis: RedisServer,  # type: ignore[no-untyped-def]
                                              log_dir: Path) -> None:
    import examples.celery.durable  # noqa: F401

    workers = [Worker(EXAMPLE, log_dir, f"rr{i}", pool="threads", concurrency=4).start()
               for i in range(2)]
    try:
        runs = [pyworkflow.start("data_pipeline", f"r{i}", step_seconds=0.3, pause="1s")
                for i in range(10)]
        wait_for(lambda: sum(1 for r in runs for e in events(r)
                             if e["type"] == "step_completed") >= 10, 30, 0.1, "progress")
        own_redis.restart()  # SIGTERM: AOF (appendfsync always) keeps every write
        for run_id in runs:
            final = wait_done(run_id, 120)
            assert final["status"] == "completed", final
            assert_clean_journal(run_id)
            assert len([e for e in events(run_id) if e["type"] == "step_completed"]) == 5
    finally:
        for w in workers:
            w.kill()


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
