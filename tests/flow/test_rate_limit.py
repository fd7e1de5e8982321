"""A rate limit shared by all workers: 20/s over 30 s gives 600 +- 20 step starts, with
two workers taking the steps."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._workers import Worker

MODULE = "tests.flow_workflows"


@pytest.mark.serial
def test_twenty_per_second_over_thirty_seconds_is_six_hundred_starts_across_two_workers(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    workers = [Worker(MODULE, log_dir, f"flow-rate-{i}", pool="threads",
                      concurrency=8).start() for i in range(2)]
    try:
        bucket = uuid.uuid4().hex[:6]
        marks = f"{rt.settings.key_prefix}:test:marks:{bucket}"
        # 700 starts wanted: more than 30 s at 20/s, so the limit binds the whole window
        runs = [pyworkflow.start("rated_batch", bucket, 70, marks) for _ in range(10)]
        for run_id in runs:
            assert pyworkflow.get_result(run_id, timeout=120) == 70
        starts = sorted(float(raw) for raw in rt.redis.lrange(marks, 0, -1))
        assert len(starts) == 700
        first = starts[0]
        in_window = sum(1 for at in starts if at < first + 30.0)
        print(f"{in_window} starts in the first 30 s; all 700 in {starts[-1] - first:.1f} s")
        assert 580 <= in_window <= 620
        deferred = sum(1 for run_id in runs for e in pyworkflow.get_workflow_events(run_id)
                       if e["type"] == "step_redispatched")
        assert deferred >= 600  # deferred by a durable timer, not spun on
    finally:
        for worker in workers:
            worker.stop()
