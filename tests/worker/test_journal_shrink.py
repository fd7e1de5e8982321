"""A run that waits or has ended keeps its journal at its size, not Redis' 4 KB (and
one that has ended, or waits long, has it sealed: ``actors.sealed``).

Redis preallocates a 4 KB listpack for every new stream, so a short journal held
4.7 KB for 1.4 KB of events. ``commit.lua`` rewrites a journal at its exact size when
it creates it and when the run settles (waits, or ends): these tests check
the memory it takes and that nothing about the journal changes: the same events,
ids and stream metadata, and a run that sleeps (rewritten while it waits) goes on
appending after it wakes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

MODULE = "tests.shrink_workflows"
#: what a stream of a short run's size takes once rewritten; Redis' preallocated
#: listpack alone is 4,096 bytes (the journal took 4,784 before)
SHORT_JOURNAL_MAX_BYTES = 3_000


@pytest.fixture(scope="module")
def shrink_worker(rt: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    worker = Worker(MODULE, Path(tmp_path_factory.mktemp("shrink")), "shrink",
                    concurrency=2).start()
    import tests.shrink_workflows  # noqa: F401

    yield worker
    worker.stop()


def _journal_bytes(rt: Any, run_id: str) -> int:
    return int(rt.redis.memory_usage(rt.system.actor_keys(run_id).journal, samples=0) or 0)


def test_a_finished_runs_journal_takes_what_its_events_take(rt: Any, shrink_worker: Any) -> None:
    run_id = pyworkflow.start("shrink_three_steps", 1)
    final = wait_done(run_id, 30)
    assert final["status"] == "completed" and final["result"] == 7
    keys = rt.system.actor_keys(run_id)
    # Its worker seals it a second later (``actors.compaction``): a few hundred bytes in
    # one value, the stream gone (tests/worker/test_sealed_journal.py reads it back).
    wait_for(lambda: rt.redis.exists(keys.sealed) and not rt.redis.exists(keys.journal), 15,
             0.05, "the finished run's journal sealed")
    sealed_bytes = int(rt.redis.memory_usage(keys.sealed, samples=0) or 0)
    assert 0 < sealed_bytes < SHORT_JOURNAL_MAX_BYTES / 4, sealed_bytes
    events = pyworkflow.get_workflow_events(run_id)
    assert [e["type"] for e in events] == ["workflow_started"] + [
        "step_scheduled", "step_completed"] * 3 + ["workflow_completed"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_a_sleeping_run_is_rewritten_and_goes_on_after_it_wakes(rt: Any,
                                                                shrink_worker: Any) -> None:
    run_id = pyworkflow.start("shrink_sleep_then_step", 3.0)
    wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "suspended", 20, 0.05,
             "the run to sleep")
    # The commit that put it to sleep rewrote it: no waiting for it here. (A sleep of
    # 3 s is too short to be sealed: the stream stays, at its size.)
    assert pyworkflow.get_workflow_run(run_id).status == "suspended"
    assert _journal_bytes(rt, run_id) < SHORT_JOURNAL_MAX_BYTES
    journal = rt.system.actor_keys(run_id).journal
    ids = [eid.decode() for eid, _ in rt.redis.xrange(journal)]
    assert ids == ["1-0", "2-0"]
    info = rt.redis.xinfo_stream(journal)
    assert info["length"] == 2 and info["last-generated-id"] == b"2-0"
    final = wait_done(run_id, 30)
    assert final["status"] == "completed" and final["result"] == 42
    types = [e["type"] for e in pyworkflow.get_workflow_events(run_id)]
    assert types == ["workflow_started", "sleep_started", "sleep_completed",
                     "step_scheduled", "step_completed", "workflow_completed"]
