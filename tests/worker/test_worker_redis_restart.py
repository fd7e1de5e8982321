"""A worker outlives Redis restarts: it reconnects, and the runs in flight complete.

Redis is the broker too, so a restart cuts the Celery consumer's connection while
it has tasks in flight and a BRPOP pending. Before ``actors.redis_transport``,
Kombu's channel teardown then raised ``AttributeError`` and the worker exited
(status 0) about one restart in ten; this test restarts Redis many times, at
moments drawn from a fixed seed, while steps run, and requires both workers to be
the same live processes at the end, with every run completed.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import pyworkflow
from tests._redis_server import RedisServer
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

EXAMPLE = "examples.celery.durable.06_fault_tolerance"
RESTARTS = 16




def _steps_done(runs: list[str]) -> int:
    return sum(1 for r in runs for e in pyworkflow.get_workflow_events(r)
               if e["type"] == "step_completed")


def _exited(workers: list[Worker]) -> str:
    return "\n".join(f"{w.name} exited with {w.proc and w.proc.returncode}:\n"
                     f"{w.log_text()[-3000:]}" for w in workers if not w.alive())


def test_workers_survive_repeated_redis_restarts_with_runs_in_flight(  # type: ignore[no-untyped-def]
        own_redis: RedisServer, log_dir: Path) -> None:
    import examples.celery.durable  # noqa: F401

    tag = uuid.uuid4().hex[:4]
    workers = [Worker(EXAMPLE, log_dir, f"rr-{tag}-{i}", pool="prefork", concurrency=2)
               .start(wait=False) for i in range(2)]
    rng = random.Random(11)
    runs: list[str] = []
    try:
        for w in workers:
            w.wait_ready()
        for n in range(RESTARTS):
            runs += [pyworkflow.start("data_pipeline", f"rr{n}-{i}", step_seconds=0.1,
                                      pause="0.2s") for i in range(3)]
            time.sleep(rng.uniform(0.3, 2.5))  # a moment with steps in flight, not a wait
            own_redis.restart(kill=rng.random() < 0.5)  # AOF always: both keep every write
            assert not _exited(workers), f"after restart {n + 1}:\n{_exited(workers)}"
        for run_id in runs:
            final = wait_done(run_id, 120)
            assert final["status"] == "completed", final
        assert _steps_done(runs) == 5 * len(runs)
        assert not _exited(workers), _exited(workers)
        for w in workers:
            assert "Unrecoverable error" not in w.log_text()
            assert w.log_text().count("Connected to ") > 1  # it did reconnect
    finally:
        for w in workers:
            w.kill()
    wait_for(lambda: all(not w.alive() for w in workers), 10, 0.1, "the workers to stop")
