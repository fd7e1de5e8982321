"""Network partitions: a worker cut off from Redis or the broker, back 60 s later.

The isolated worker runs in its own network namespace (``tests/_partition.py``) and
reaches Redis and the broker only through links this process can cut. While it holds
a turn, a step, a schedule's firings or timer claims, the links are cut; another
worker (on the host's network) finishes the runs; 60 s later the links heal and
everything the isolated worker wrote meanwhile reaches Redis late. Nothing may be
doubled, the late writes must change nothing, and the isolated worker must serve
runs again afterwards.
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

def test_a_worker_cut_from_redis_and_the_broker_holding_a_turn_a_step_and_firings(
        rt: Any, log_dir: Path, cut_off: Partition) -> None:
    hold = Path(cut_off.folder) / "hold"
    hold.mkdir()
    tag = uuid.uuid4().hex[:6]
    (hold / f"turn-T{tag}").touch()
    (hold / f"step-S{tag}").touch()
    isolated = IsolatedWorker(MODULE, log_dir, f"isolated-{tag}", concurrency=4,
                              extra_env={**cut_off.env(rt.settings.redis_url),
                                         "PWTEST_HOLD_DIR": str(hold)}).start()
    other = Worker(MODULE, log_dir, f"other-{tag}", concurrency=2)
    import tests.partition_workflows as wf

    schedule = pyworkflow.create_schedule(wf.partition_tick, interval="1s", args=(1,),
                                          schedule_id=f"part-{tag}")
    try:
        turn_run = pyworkflow.start(wf.held_turn, f"T{tag}")
        step_run = pyworkflow.start(wf.held_step, f"S{tag}")
        wait_for(lambda: list(hold.glob(f"turn-T{tag}.held-by-*")), 30, 0.05,
                 "the isolated worker to hold the turn")
        wait_for(lambda: list(hold.glob(f"step-S{tag}.held-by-*")), 30, 0.05,
                 "the isolated worker to hold the step")
        wait_for(lambda: _schedule_runs(schedule), 30, 0.1, "a first firing")

        cut_off.cut()
        cut_at = time.monotonic()
        (hold / "release").touch()  # the held turn and step go on and write, into the cut
        other.start()
        for run_id, result in ((turn_run, f"T{tag}-after-done"), (step_run, f"S{tag}-done")):
            final = wait_done(run_id, PARTITION_S - 5)
            assert final["status"] == "completed" and final["result"] == result, final
        finished_at = time.monotonic() - cut_at
        before = {r: events(r) for r in (turn_run, step_run)}
        print(f"runs finished by the other worker {finished_at:.1f}s into the partition")

        wait_out_the_partition(cut_at)
        cut_off.heal()
        wait_for(lambda: cut_off.redis.sent_after_heal > 0, 30, 0.1,
                 "the isolated worker's late writes to reach Redis")
        pyworkflow.delete_schedule(schedule)
        wait_for(lambda: queues_drained(rt, [turn_run, step_run]), 60, 0.2,
                 "the late messages to be handled")

        # The late writes changed nothing, and nothing was done twice.
        for run_id in (turn_run, step_run):
            assert events(run_id) == before[run_id]
            assert_nothing_doubled(run_id)
        firings = _schedule_runs(schedule)
        assert len(firings) == len({r.run_id for r in firings})
        for run in firings:
            wait_done(run.run_id, 30)
            assert_nothing_doubled(run.run_id)

        # The isolated worker is back: with the other one gone, it finishes a new run.
        other.stop()
        assert isolated.alive(), isolated.log_text()[-3000:]
        final = wait_done(pyworkflow.start(wf.held_step, f"after-{tag}"), 60)
        assert final["status"] == "completed" and final["result"] == f"after-{tag}-done"
    finally:
        isolated.kill()
        other.stop()


def _schedule_runs(schedule: str) -> list[Any]:
    return [r for r in pyworkflow.list_workflow_runs(workflow="partition_tick", limit=1000)
            if r.run_id.startswith(schedule) or schedule in r.run_id]
