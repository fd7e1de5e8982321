"""A worker cut from the broker alone while it holds timer claims, back 60 s later.

The partition's other half (cut from Redis and the broker together, holding a turn, a
step and a schedule's firings) is ``test_partitions.py``; apart, the two take their
60-second partitions side by side in dev.py's quiet run (helpers: tests/_partition.py).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pyworkflow
from ops.chaos.partition import Partition
from tests._partition import (
    MARKS,
    MODULE,
    PARTITION_S,
    IsolatedWorker,
    assert_nothing_doubled,
    events,
    queues_drained,
    wait_out_the_partition,
)
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

pytestmark = MARKS


def test_a_worker_cut_from_the_broker_holding_timer_claims(
        rt: Any, log_dir: Path, cut_off: Partition) -> None:
    tag = uuid.uuid4().hex[:6]
    isolated = IsolatedWorker(MODULE, log_dir, f"isolated-t-{tag}", concurrency=2,
                              extra_env=cut_off.env(rt.settings.redis_url, split=True)).start()
    # The other worker reads mailboxes the same way (through Kombu, its broker apart):
    # through links of its own that are never cut.
    never_cut = Partition(rt.settings.redis_url)
    other = Worker(MODULE, log_dir, f"other-t-{tag}", concurrency=2,
                   extra_env=never_cut.env(rt.settings.redis_url, split=True))
    import tests.partition_workflows as wf

    try:
        runs = [pyworkflow.start(wf.short_sleep, f"{tag}-{i}", 2.0) for i in range(6)]
        wait_for(lambda: all(any(e["type"] == "sleep_started" for e in events(r))
                             for r in runs), 30, 0.05, "every run to sleep")
        cut_off.broker.cut()  # Redis stays reachable: the timers can still be claimed
        cut_at = time.monotonic()
        # The first claims it makes block on delivering them (the broker is cut), so it
        # claims no more: the other worker must wait out those claims' lease.
        wait_for(lambda: _claimed_timers(rt) >= 1, 30, 0.05,
                 "the isolated worker to claim timers")
        other.start()
        for i, run_id in enumerate(runs):
            final = wait_done(run_id, PARTITION_S - 5)
            assert final["status"] == "completed" and final["result"] == f"{tag}-{i}", final
        print(f"sleepers woken by the other worker {time.monotonic() - cut_at:.1f}s "
              "into the partition")
        before = {r: events(r) for r in runs}

        wait_out_the_partition(cut_at)
        cut_off.broker.heal()
        wait_for(lambda: cut_off.broker.sent_after_heal > 0, 30, 0.1,
                 "the isolated worker's late publishes to reach the broker")
        wait_for(lambda: queues_drained(rt, runs), 60, 0.2,
                 "the late messages to be handled")
        for run_id in runs:
            assert events(run_id) == before[run_id]
            assert_nothing_doubled(run_id)

        other.stop()
        assert isolated.alive(), isolated.log_text()[-3000:]
        final = wait_done(pyworkflow.start(wf.short_sleep, f"after-{tag}", 0.5), 60)
        assert final["status"] == "completed"
    finally:
        isolated.kill()
        other.stop()
        never_cut.close()


def _claimed_timers(rt: Any) -> int:
    return sum(int(rt.redis.zcard(shard.claimed)) for shard in rt.system.keys.timer_shards)
