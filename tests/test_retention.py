"""Retention on real workers: finished runs are purged, every key of them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pyworkflow
from pyworkflow import keys
from pyworkflow.worker import _runtime
from tests._workers import Worker, wait_for, worker_pool
from tests.cli.test_examples_cli import cli

MODULE = "tests.client_workflows"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "retain", count=1, pool="prefork", concurrency=2) as pool:
        yield pool


# serial: its runs' records expire seconds after they end, and waiting for 200 of them
# one by one under other tests' load can come after a record has gone
@pytest.mark.serial
def test_finished_runs_past_their_retention_leave_no_key_behind(workers: list[Worker]) -> None:
    rt = _runtime.runtime()
    prefix = rt.settings.key_prefix
    run_ids = [pyworkflow.start("client_short_lived", i,
                                idempotency_key=f"retain-{uuid.uuid4().hex[:8]}" if i % 2 else None)
               for i in range(200)]
    started = time.monotonic()
    seen = 0
    for run_id in run_ids:
        try:
            info = pyworkflow.wait_for_run(run_id, timeout=60)
        except pyworkflow.RunNotFoundError:
            # ended and purged already (a second after its end) while earlier ones were
            # waited for: only a finished run is purged, and the checks below hold it
            continue
        assert info.status == "completed"
        seen += 1
    assert seen > 0  # the first at least: waited for from its start
    # A finished run's record carries its purge time: read it on a run whose record is
    # still there (the first ones may be purged already, seconds after they ended,
    # while the suite's load made the wait for the last ones long), in one MULTI.
    last = rt.system.actor_keys(run_ids[-1]).record
    pipe = rt.redis.pipeline(transaction=True)
    pipe.exists(last)
    pipe.hget(last, "purge_at")
    exists, purge_at = pipe.execute()
    assert purge_at is not None or not exists

    def purged() -> bool:
        return not any(rt.redis.exists(rt.system.actor_keys(r).record) for r in run_ids)

    wait_for(purged, 60, 0.2, "every run to be purged")
    print(f"200 runs purged {time.monotonic() - started:.1f}s after they were started")
    # Nothing of a purged run stays: its step attempts' start counters (for the
    # worker-loss check) are one hash per run, deleted with it (keys.step_starts).
    left = [k.decode() for k in rt.redis.scan_iter(match=f"{prefix}:*", count=1000)
            if any(r in k.decode() for r in run_ids)]
    assert left == []
    assert not any(rt.redis.zscore(keys.runs_index(prefix), r) for r in run_ids)
    assert not any(rt.redis.zscore(keys.runs_purge_index(prefix), r) for r in run_ids)
    idem = [k for k in rt.redis.scan_iter(match=f"{prefix}:{{idempotency}}:retain-*")]
    assert idem == []
    with pytest.raises(pyworkflow.RunNotFoundError):
        pyworkflow.get_workflow_run(run_ids[0])


def test_runs_purge_deletes_finished_runs_now(workers: list[Worker]) -> None:
    rt = _runtime.runtime()
    run_id = pyworkflow.start("client_quick", 3)
    assert pyworkflow.get_result(run_id, timeout=30) == 6
    dry = json.loads(cli("--output", "json", "runs", "purge", "--workflow", "client_quick",
                         "--dry-run").stdout)
    assert run_id in dry["matched"] and dry["purged"] == []
    assert rt.redis.exists(rt.system.actor_keys(run_id).record)
    done = json.loads(cli("--output", "json", "runs", "purge", "--workflow", "client_quick",
                          "--status", "completed").stdout)
    assert run_id in done["purged"]
    assert not rt.redis.exists(rt.system.actor_keys(run_id).journal)
    bad = cli("runs", "purge", "--older-than", "soon", check=False)
    assert bad.returncode != 0 and "--older-than" in bad.stderr and "Traceback" not in bad.stderr
