"""``runs purge --older-than`` reaches every old run, however many newer runs there are.

Issue 24: the command listed the newest 10,000 runs of each status and purged the old
ones among them, so old runs behind 10,000 newer ones were never purged. The records
here are written straight into Redis, in the shape a finished run's record has (see
``run_info.py``), with their runs-index entries (scored by creation time): thousands
of them in a few pipelined round trips, no worker needed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from pyworkflow import keys
from pyworkflow.cli import run_purge
from pyworkflow.cli import runs as _runs  # noqa: F401  (registers the runs group)
from pyworkflow.cli._root import cli
from pyworkflow.worker import _runtime

DAY = 86400.0
NEWER = 10_100  # more than the 10,000 the old listing stopped at


class Runs:
    """Run records and index entries written for one test, all removed afterwards."""

    def __init__(self, rt: _runtime.Runtime) -> None:
        self.rt = rt
        self.index = keys.runs_index(rt.settings.key_prefix)
        self.ids: list[str] = []
        self.tag = uuid.uuid4().hex[:6]

    def add(self, count: int, created: float, status: str, finished: float | None,
            workflow: str = "scan_job", distinct_scores: int | None = None) -> list[str]:
        ids = [f"run-scan{self.tag}{len(self.ids) + i:07d}" for i in range(count)]
        pipe = self.rt.redis.pipeline(transaction=False)
        for i, run_id in enumerate(ids):
            # A few creation times shared by many runs: the walk must not lose its place
            # among equal scores while it deletes from the index.
            at = created + (i % distinct_scores if distinct_scores else i) * 0.001
            record = {"workflow": workflow, "status": status, "created_at": repr(at),
                      "started_at": repr(at), "updated_at": repr(finished or at),
                      "args": "[]", "kwargs": "{}", "waiting_on": "[]"}
            if finished is not None:
                record |= {"finished_at": repr(finished), "result": json.dumps(i)}
            pipe.hset(self.rt.system.actor_keys(run_id).record, mapping=record)
            pipe.zadd(self.index, {run_id: at})
            if len(pipe) >= 2000:
                pipe.execute()
        pipe.execute()
        self.ids.extend(ids)
        return ids

    def alive(self, ids: list[str]) -> set[str]:
        pipe = self.rt.redis.pipeline(transaction=False)
        for run_id in ids:
            pipe.exists(self.rt.system.actor_keys(run_id).record)
        return {r for r, there in zip(ids, pipe.execute(), strict=True) if there}

    def remove(self) -> None:
        for i in range(0, len(self.ids), 1000):
            chunk = self.ids[i:i + 1000]
            pipe = self.rt.redis.pipeline(transaction=False)
            pipe.delete(*[self.rt.system.actor_keys(r).record for r in chunk])
            pipe.zrem(self.index, *chunk)
            pipe.execute()


@pytest.fixture()
def runs(rt: _runtime.Runtime) -> Iterator[Runs]:
    written = Runs(rt)
    yield written
    written.remove()


def purge(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--output", "json", "runs", "purge", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    return out


def test_old_runs_behind_ten_thousand_newer_ones_are_purged(runs: Runs) -> None:
    now = time.time()
    old = now - 3 * DAY
    done_long_ago = runs.add(700, old, "completed", now - 2 * DAY, distinct_scores=6)
    failed_long_ago = runs.add(150, old + 10, "failed", now - 2 * DAY, workflow="other")
    running = runs.add(150, old + 20, "running", None)
    done_lately = runs.add(100, old + 30, "completed", now - 60)  # created long ago
    newer = runs.add(NEWER, now - 30, "completed", now - 10)
    started = time.monotonic()

    dry = purge("--older-than", "1d", "--workflow", "scan_job", "--dry-run")
    assert sorted(dry["matched"]) == sorted(done_long_ago) and dry["purged"] == []
    assert runs.alive(done_long_ago) == set(done_long_ago)

    done = purge("--older-than", "1d", "--status", "completed")
    assert sorted(done["purged"]) == sorted(done_long_ago)
    assert runs.alive(done_long_ago) == set()
    rest = purge("--older-than", "1d")
    assert sorted(rest["purged"]) == sorted(failed_long_ago)

    kept = running + done_lately + newer
    assert runs.alive(kept) == set(kept)
    index = runs.rt.redis
    assert not any(index.zscore(runs.index, r) for r in done_long_ago + failed_long_ago)
    took = time.monotonic() - started
    print(f"{len(runs.ids)} runs in the index; three purges took {took:.1f}s")


def test_the_walk_keeps_its_place_while_it_deletes(runs: Runs) -> None:
    """Slices far smaller than the runs sharing one creation time, purged as they are
    read: every matching run is still reached exactly once."""
    now = time.time()
    ids = runs.add(300, now - 5 * DAY, "completed", now - 4 * DAY, distinct_scores=3)
    rt = runs.rt
    walk = run_purge.finished_before(rt.redis, rt.settings.key_prefix, rt.system.actor_keys,
                                     now - DAY, frozenset({"completed"}), "scan_job",
                                     slice_size=7)
    seen: list[str] = []
    sent: list[str] | None = None
    for _ in range(1000):
        try:
            batch = walk.send(sent)
        except StopIteration:
            break
        seen.extend(b.run_id for b in batch)
        sent = [b.run_id for b in batch[::2]]  # purge every other one
        if sent:
            rt.redis.zrem(runs.index, *sent)
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
