"""A rate limit shared by all workers: 20/s over 15 s gives 300 +- 10 step starts, with
two workers taking the steps."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._workers import Worker

MODULE = "tests.flow_workflows"
#: the step's rate (``tests.flow_workflows.rated``: ``rate_limit="20/s"``)
RATE = 20
#: the window counted. 30 s (600 starts) before; the count's error is the start
#: latency at the window's end (a start is due at its reserved time, begins a moment
#: later), so 15 s keeps the tolerance to a thirtieth of the count: 300 +- 10
WINDOW_S = 15
RUNS, STEPS = 10, 35


@pytest.mark.serial
def test_twenty_per_second_over_fifteen_seconds_is_three_hundred_starts_across_two_workers(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    workers = [Worker(MODULE, log_dir, f"flow-rate-{i}", pool="threads",
                      concurrency=8).start() for i in range(2)]
    try:
        bucket = uuid.uuid4().hex[:6]
        marks = f"{rt.settings.key_prefix}:test:marks:{bucket}"
        # 350 starts wanted: more than 15 s at 20/s, so the limit binds the whole window
        runs = [pyworkflow.start("rated_batch", bucket, STEPS, marks) for _ in range(RUNS)]
        for run_id in runs:
            assert pyworkflow.get_result(run_id, timeout=120) == STEPS
        starts = sorted(float(raw) for raw in rt.redis.lrange(marks, 0, -1))
        assert len(starts) == RUNS * STEPS
        first = starts[0]
        in_window = sum(1 for at in starts if at < first + WINDOW_S)
        print(f"{in_window} starts in the first {WINDOW_S} s; all {len(starts)} in "
              f"{starts[-1] - first:.1f} s")
        expected = RATE * WINDOW_S
        assert expected - expected // 30 <= in_window <= expected + expected // 30
        deferred = sum(1 for run_id in runs for e in pyworkflow.get_workflow_events(run_id)
                       if e["type"] == "step_redispatched")
        assert deferred >= expected  # deferred by a durable timer, not spun on
    finally:
        for worker in workers:
            worker.stop()
