"""Starting runs: a failed start leaves nothing behind, idempotency keys have a
reuse policy and a retention, and the CLI's output survives a closed pipe.

Real workers, a real Redis, and the real CLI as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pyworkflow
from pyworkflow import IdempotencyKeyUsedError, keys
from pyworkflow._start_plan import plan_start
from pyworkflow.worker import _runtime
from pyworkflow.worker.idempotency import IdempotencyRetention
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for, worker_pool

MODULE = "tests.client_workflows"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "starts", count=1, pool="prefork", concurrency=2) as pool:
        yield pool


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_cli(*args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYWORKFLOW, "--module", MODULE, *args], cwd=REPO,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def prefix_keys() -> set[str]:
    rt = _runtime.runtime()
    return {k.decode() for k in rt.redis.scan_iter(match=f"{rt.settings.key_prefix}:*")}


def test_a_start_with_the_broker_down_writes_nothing(workers: list[Worker]) -> None:
    key = unique("broker-down")
    before = prefix_keys()
    down = run_cli("workflows", "run", "client_quick", "--arg", "x=5", "--idempotency-key", key,
                   env={"PYWORKFLOW_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert down.returncode == 1, down.stderr
    assert "not reachable" in down.stderr and "Traceback" not in down.stderr
    # What a start writes: a run's record, its index entry, the idempotency key. (Other
    # keys may appear meanwhile: workers still finishing earlier tests' messages.)
    # (Records of other runs may appear meanwhile too: the hook tests' messages to runs
    # that never existed, for one; only a client_quick record can be this start's.)
    rt = _runtime.runtime()
    new = {k for k in prefix_keys() - before
           if (k.endswith(":record") and rt.redis.hget(k, "workflow") == b"client_quick")
           or "{idempotency}" in k}
    assert new == set(), f"a failed start left {sorted(new)}"
    assert rt.redis.get(keys.idempotency_key(rt.settings.key_prefix, key)) is None
    # With the broker back, the same command starts a run that completes (it used to
    # return the dead pending run the failed start had recorded).
    up = run_cli("--output", "json", "workflows", "run", "client_quick", "--arg", "x=5",
                 "--idempotency-key", key)
    assert up.returncode == 0, up.stderr
    run_id = json.loads(up.stdout)["run_id"]
    assert pyworkflow.get_result(run_id, timeout=30) == 10


def test_a_pending_run_whose_start_was_lost_is_started_by_the_next_caller(
        workers: list[Worker]) -> None:
    """The starter died between writing the record (and claiming the key) and sending
    the start message: a crash undoes nothing, so the next caller must finish it."""
    rt = _runtime.runtime()
    key = unique("lost-start")
    plan = plan_start("client_quick", (7,), {})
    rt.redis.hset(rt.system.actor_keys(plan.run_id).record, mapping=plan.record)
    rt.redis.set(keys.idempotency_key(rt.settings.key_prefix, key), plan.run_id)
    assert pyworkflow.start("client_quick", 7, idempotency_key=key) == plan.run_id
    assert pyworkflow.get_result(plan.run_id, timeout=30) == 14
    # Without a key, an operator's retry does the same.
    orphan = plan_start("client_quick", (8,), {})
    rt.redis.hset(rt.system.actor_keys(orphan.run_id).record, mapping=orphan.record)
    assert pyworkflow.retry_run(orphan.run_id).status == "pending"
    assert pyworkflow.get_result(orphan.run_id, timeout=30) == 16


def test_if_finished_returns_starts_new_or_refuses(workers: list[Worker]) -> None:
    key = unique("reuse")
    first = pyworkflow.start("client_quick", 1, idempotency_key=key)
    pyworkflow.wait_for_run(first, timeout=30)
    assert pyworkflow.start("client_quick", 1, idempotency_key=key) == first
    with pytest.raises(IdempotencyKeyUsedError, match="completed"):
        pyworkflow.start("client_quick", 1, idempotency_key=key, if_finished="refuse")
    second = pyworkflow.start("client_quick", 2, idempotency_key=key, if_finished="start_new")
    assert second != first
    assert pyworkflow.get_result(second, timeout=30) == 4
    assert pyworkflow.start("client_quick", 2, idempotency_key=key) == second
    with pytest.raises(ValueError, match="if_finished"):
        pyworkflow.start("client_quick", 2, idempotency_key=key, if_finished="sometimes")  # type: ignore[arg-type]
    refused = run_cli("workflows", "run", "client_quick", "--arg", "x=1",
                      "--idempotency-key", key, "--if-finished", "refuse")
    assert refused.returncode == 1 and "already started run" in refused.stderr


def test_idempotency_keys_are_deleted_after_their_retention(workers: list[Worker]) -> None:
    rt = _runtime.runtime()
    key = unique("retention")
    run_id = pyworkflow.start("client_napping", 0.5, 1, idempotency_key=key)
    stored = keys.idempotency_key(rt.settings.key_prefix, key)
    retention = IdempotencyRetention(rt.redis, rt.settings.key_prefix, 60.0,
                                     lambda r: rt.system.actor_keys(r).record)
    index = keys.idempotency_index(rt.settings.key_prefix)
    # While the run is live the key is kept, whatever the clock says.
    retention.sweep(now=time.time() + 10 * 24 * 3600)
    assert rt.redis.get(stored) == run_id.encode()
    info = pyworkflow.wait_for_run(run_id, timeout=30)
    assert info.finished_at is not None
    rt.redis.zadd(index, {key: 0})  # due now
    retention.sweep(now=info.finished_at + 30)  # ended 30 s ago: kept
    assert rt.redis.get(stored) == run_id.encode()
    rt.redis.zadd(index, {key: 0})
    retention.sweep(now=info.finished_at + 61)  # past retention: deleted
    assert rt.redis.get(stored) is None
    assert rt.redis.zscore(index, key) is None
    fresh = pyworkflow.start("client_quick", 1, idempotency_key=key)
    assert fresh != run_id


def test_runs_list_into_a_closed_pipe_is_quiet(workers: list[Worker]) -> None:
    for i in range(3):
        pyworkflow.start("client_quick", i)
    proc = subprocess.run(f"{PYWORKFLOW} runs list --limit 500 | head -2", shell=True,
                          cwd=REPO, env=dict(os.environ), capture_output=True, text=True,
                          timeout=60)
    assert len(proc.stdout.splitlines()) == 2
    assert "Error" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("limit", ["0", "-1", "10001", "99999999999999999999"])
def test_runs_list_limit_out_of_range_is_a_usage_error(limit: str) -> None:
    proc = run_cli("runs", "list", "--limit", limit)
    assert proc.returncode == 2, proc.stderr
    assert "--limit" in proc.stderr and "ResponseError" not in proc.stderr


def test_version_and_the_seeds_combined_form() -> None:
    version = subprocess.run([PYWORKFLOW, "--version"], capture_output=True, text=True,
                             timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("pyworkflow, version ")
    listed = subprocess.run([PYWORKFLOW, "--module", "examples.celery.durable", "--output",
                             "json", "workflows", "list"], cwd=REPO, capture_output=True,
                            text=True, timeout=60, env=dict(os.environ))
    assert listed.returncode == 0, listed.stderr
    names = {w["name"] for w in json.loads(listed.stdout)}
    assert {"order_workflow", "payment_workflow", "approval_workflow"} <= names or \
        len(names) >= 10, names


def test_step_attempts_are_counted_for_metrics(workers: list[Worker]) -> None:
    rt = _runtime.runtime()
    key = keys.step_metrics(rt.settings.key_prefix)
    field = "attempts|client_double|completed"
    before = int(rt.redis.hget(key, field) or 0)
    assert pyworkflow.get_result(pyworkflow.start("client_quick", 4), timeout=30) == 8
    wait_for(lambda: int(rt.redis.hget(key, field) or 0) > before, 10, 0.05,
             "the worker to count the attempt")
