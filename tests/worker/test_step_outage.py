"""A step task that meets a Redis outage before its attempt is durable is run again once
Redis is back, not lost.

The journal's Redis is a server of this test's own, the broker the suite's Redis (as with
a Redis Cluster, whose broker is always apart). Step tasks wait in the broker while
their consumer is off; the journal's Redis goes away for longer than the client's own
retries; the consumer comes back and the tasks fail to take their leases. Without a
lease nothing would ever notice those attempts: Celery must send them again until
Redis answers, and every run must then complete with each step recorded once.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow.worker import _runtime
from tests._redis_server import RedisServer
from tests._runtime_swap import runtime_on
from tests._workers import Worker, wait_for

EXAMPLE = "examples.celery.durable.01_basic_workflow"


@pytest.fixture
def journal_apart(redis_env: dict[str, str]) -> Iterator[RedisServer]:
    server = RedisServer().start()
    broker = os.environ.get("PYWORKFLOW_BROKER_URL") or redis_env["PYWORKFLOW_REDIS_URL"]
    try:
        with runtime_on({"PYWORKFLOW_REDIS_URL": server.url, "PYWORKFLOW_BROKER_URL": broker}):
            yield server
    finally:
        server.stop()


def _events(run_id: str) -> list[dict[str, Any]]:
    return [e.to_dict() for e in _runtime.runtime().system.journal(run_id).iter_all()]


def test_a_step_task_that_meets_an_outage_runs_once_redis_is_back(
        journal_apart: RedisServer, log_dir: Path) -> None:
    importlib.import_module(EXAMPLE)  # its workflow, to start it from here

    env = {"PYWORKFLOW_REDIS_URL": os.environ["PYWORKFLOW_REDIS_URL"],
           "PYWORKFLOW_BROKER_URL": os.environ["PYWORKFLOW_BROKER_URL"]}
    worker = Worker(EXAMPLE, log_dir, "outage", pool="threads", concurrency=4,
                    extra_env=env).start()
    rt = _runtime.runtime()
    steps = rt.queues["steps"]
    try:
        # Only to this worker: other test sessions' workers share the broker.
        mine = [worker.hostname]
        assert rt.celery.control.cancel_consumer(steps, reply=True, timeout=5,
                                                 destination=mine)
        # Two runs: a step task waits in the queue while another meets the outage. The
        # tasks met it one after the other, each for the client's 9 s of retries: with
        # four runs, the fourth was sent again about 45 s into the outage
        runs = [pyworkflow.start("order_workflow", f"outage-{i}", 10.0) for i in range(2)]
        wait_for(lambda: all(any(e["type"] == "step_scheduled" for e in _events(r))
                             for r in runs), 30, 0.1, "the first steps to be scheduled")
        journal_apart.stop(kill=True)  # the journal's Redis goes away
        down_at = time.monotonic()
        assert rt.celery.control.add_consumer(steps, reply=True, timeout=5, destination=mine)
        wait_for(lambda: worker.log_text().count("Retry in") >= len(runs), 60, 0.2,
                 "the step tasks to be sent again")
        assert time.monotonic() - down_at > 5  # past the client's own retries
        journal_apart.start()  # same port and folder: its AOF brings everything back
        for run_id in runs:
            final = pyworkflow.wait_for_run(run_id, 90)
            assert final.status == "completed", final
            done = [e["data"]["call_id"] for e in _events(run_id)
                    if e["type"] == "step_completed"]
            assert sorted(done) == [1, 2, 3]
    finally:
        worker.kill()
