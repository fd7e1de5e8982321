"""Concurrency limits on steps, and a SIGKILLed worker's slots, on real workers."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._workers import Worker, wait_for
from tests.flow.test_run_limits import most_at_once

MODULE = "tests.flow_workflows"


def _spans(rt: Any, marks: str) -> list[tuple[float, float]]:
    """Each attempt's (start, end) from the marks the step wrote, paired in order."""
    starts, ends = [], []
    for raw in rt.redis.lrange(marks, 0, -1):
        kind, _, at = raw.decode().partition(" ")
        (starts if kind == "start" else ends).append(float(at))
    assert len(starts) == len(ends)
    # The most open at once does not depend on which end belongs to which start.
    return list(zip(sorted(starts), sorted(ends), strict=True))


def test_at_most_two_attempts_of_a_limited_step_run_at_once_per_key(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    workers = [Worker(MODULE, log_dir, f"flow-steps-{i}", pool="threads",
                      concurrency=6).start() for i in range(2)]
    try:
        tag = uuid.uuid4().hex[:6]
        marks = f"{rt.settings.key_prefix}:test:marks:{tag}"
        runs = [pyworkflow.start("fan_limited", tag, 4, 0.3, marks) for _ in range(2)]
        for run_id in runs:
            assert pyworkflow.get_result(run_id, timeout=60) == 4
        spans = _spans(rt, marks)
        assert len(spans) == 8
        assert most_at_once(spans) == 2
        waited = [e for run_id in runs for e in pyworkflow.get_workflow_events(run_id)]
        assert not [e for e in waited if e["type"] == "step_failed"]
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.serial  # it times a recovery
def test_a_sigkilled_worker_s_slots_come_back_within_the_lease(rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401
    from pyworkflow.flow.slots import STEP_SLOT_LEASE_MS

    victim = Worker(MODULE, log_dir, "flow-victim", pool="threads", concurrency=6).start()
    survivor = Worker(MODULE, log_dir, "flow-survivor", pool="threads", concurrency=6)
    tag = uuid.uuid4().hex[:6]
    marks = f"{rt.settings.key_prefix}:test:marks:{tag}"
    holders = f"{rt.settings.key_prefix}:{{flow:step:limited_step:tag={tag}}}:holders"
    try:
        run_id = pyworkflow.start("fan_limited", tag, 4, 4.0, marks)
        wait_for(lambda: rt.redis.llen(marks) >= 2, 30, message="two attempts to hold slots")
        held = {m.decode() for m in rt.redis.zrange(holders, 0, -1)}
        assert len(held) == 2
        survivor.start()
        victim.kill()
        killed = time.monotonic()
        wait_for(lambda: not held & {m.decode() for m in rt.redis.zrange(holders, 0, -1)},
                 30, 0.05, "the dead worker's slots to come back")
        back = time.monotonic() - killed
        print(f"the dead worker's slots came back {back:.2f}s after the kill")
        assert back <= STEP_SLOT_LEASE_MS / 1000 + 2.5  # the lease, plus the sweep's period
        assert pyworkflow.get_result(run_id, timeout=90) == 4  # nothing waits forever
        wait_for(lambda: rt.redis.zcard(holders) == 0, 30, message="every slot let go")
    finally:
        victim.kill()
        survivor.stop()
