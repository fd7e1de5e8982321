"""A step's ``timeout`` stops the attempt: no side effects after it, one report each.

Real prefork workers. Each step appends to a Redis list every 20 ms for 12 s; its
timeout is 1 s and it has one retry. The list shows when each attempt stopped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from pyworkflow.config import redis_client
from pyworkflow.worker.step_time_limits import grace_s
from tests._workers import Worker, worker_pool
from tests.cli.test_examples_cli import wait_done
from tests.timeout_workflows import TIMEOUT_S, side_effects_key

MODULE = "tests.timeout_workflows"
#: How long after its limit an attempt may still append: one 20 ms loop turn, the
#: pool's timer resolution and a busy two-core machine.
SLACK_S = 0.75


@pytest.fixture(scope="module")
def prefork(rt: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, tmp_path_factory.mktemp("timeouts"), "timeouts", count=1,
                     concurrency=2) as workers:
        yield workers


def attempts_seen(tag: str) -> dict[int, list[float]]:
    seen: dict[int, list[float]] = {}
    for raw in redis_client(pyworkflow.worker._runtime.runtime().settings.redis_url).lrange(
            side_effects_key(tag), 0, -1):
        attempt, at = raw.decode().split()
        seen.setdefault(int(attempt), []).append(float(at))
    return seen


def assert_quiet_for(tag: str, seconds: float) -> None:
    """Watch the list for ``seconds``: a stopped attempt adds nothing more."""
    client = redis_client(pyworkflow.worker._runtime.runtime().settings.redis_url)
    length = client.llen(side_effects_key(tag))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert client.llen(side_effects_key(tag)) == length, "a timed-out attempt still runs"
        time.sleep(0.1)


@pytest.mark.parametrize(("kind", "stops_within"), [
    ("sync", TIMEOUT_S + SLACK_S),  # soft limit: SoftTimeLimitExceeded in the body
    ("async", TIMEOUT_S + SLACK_S),  # the coroutine is cancelled
    ("stubborn", TIMEOUT_S + grace_s(TIMEOUT_S) + SLACK_S),  # swallows it: hard limit
])
def test_a_timed_out_attempt_stops_and_is_reported_once(prefork: list[Worker], kind: str,
                                                       stops_within: float) -> None:
    tag = uuid.uuid4().hex[:8]
    run_id = pyworkflow.start("times_out", kind, tag)
    final = wait_done(run_id, 60)
    assert_quiet_for(tag, 1.5)

    assert final["status"] == "failed", final
    events = list(pyworkflow.get_workflow_events(run_id))
    failed = [e["data"] for e in events if e["type"] == ev.STEP_FAILED]
    assert [(f["attempt"], f["error_type"]) for f in failed] == [
        (1, "StepTimeoutError"), (2, "StepTimeoutError")]
    assert not [e for e in events if e["type"] == ev.STEP_COMPLETED]

    seen = attempts_seen(tag)
    assert sorted(seen) == [1, 2]
    for attempt, times in seen.items():
        ran = max(times) - min(times)
        assert ran < stops_within, f"attempt {attempt} appended for {ran:.2f}s"
    assert max(seen[1]) < min(seen[2]), "the retry overlapped the timed-out attempt"
    print(f"{kind}: attempts appended for "
          + ", ".join(f"{max(t) - min(t):.2f}s" for t in seen.values()))
