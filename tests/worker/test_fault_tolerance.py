"""Fault tolerance with real workers: SIGKILL, SIGTERM, Redis restarts (poison work and
an operator's retry: test_poison_runs.py, a file of its own so that the parallel run
gives the two halves two processes).

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


# quiet: it times the recovery (within 10 s), which the parallel run's load would
# stretch; beside the quiet tests' idle workers and one serial test it keeps its margin
@pytest.mark.quiet
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
