"""Examples 01-10 on a real three-master Redis Cluster, through the CLI as the seed
README types them, on real workers.

The journal Redis is the cluster (``PYWORKFLOW_REDIS_URL`` names one node; the
project finds the rest); the broker is the suite's plain Redis, as Celery cannot use
a cluster. Afterwards the keys of the runs must sit on every master (the hash tags
spread them), and no worker may have logged a CROSSSLOT error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ops.cluster.local_cluster import LocalCluster
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
    reason="a local cluster needs redis-server and redis-cli")

PACKAGE = "examples.celery.durable"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    nodes = LocalCluster().start()
    try:
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture(scope="module")
def cluster_env(cluster: LocalCluster, redis_env: dict[str, str]) -> dict[str, str]:
    prefix = f"pwcl-{uuid.uuid4().hex[:8]}"
    return {"PYWORKFLOW_REDIS_URL": cluster.url,
            "PYWORKFLOW_BROKER_URL": redis_env["PYWORKFLOW_REDIS_URL"],  # the suite's Redis
            "PYWORKFLOW_KEY_PREFIX": prefix}


@pytest.fixture(scope="module")
def workers(cluster_env: dict[str, str], log_dir: Path) -> Iterator[list[Worker]]:
    pool = [Worker(PACKAGE, log_dir, f"cl{i}", extra_env=cluster_env).start(wait=False)
            for i in range(2)]
    try:
        for w in pool:
            w.wait_ready()
        yield pool
    finally:
        for w in pool:
            w.stop()


def cli(env: dict[str, str], *args: str) -> Any:
    proc = subprocess.run([PYWORKFLOW, "--output", "json", *args], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"pyworkflow {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def start(env: dict[str, str], module: str, workflow: str, *args: str) -> str:
    return str(cli(env, "--module", f"{PACKAGE}.{module}", "workflows", "run", workflow,
                   *args)["run_id"])


def settled(env: dict[str, str], run_ids: list[str], timeout: float = 90
            ) -> dict[str, dict[str, Any]]:
    """Each run's record once every one has settled, from ``runs list`` (one command for
    all of them; the cluster's key prefix is this module's own)."""
    final = ("completed", "failed", "cancelled", "parked")

    def done() -> dict[str, dict[str, Any]] | None:
        listed = {r["run_id"]: r for r in cli(env, "runs", "list", "--top-level",
                                               "--limit", "1000")}
        if all(listed.get(r, {}).get("status") in final for r in run_ids):
            return {r: listed[r] for r in run_ids}
        return None

    return wait_for(done, timeout, 0.2, "the runs to settle")  # type: ignore[no-any-return]


#: Each example's ``workflows run`` arguments, as the seed README types them.
STARTS: dict[str, tuple[str, ...]] = {
    "01": ("01_basic_workflow", "order_workflow", "--arg", "order_id=order-123",
           "--arg", "amount=99.99"),
    "02": ("02_long_running", "onboarding_workflow", "--arg", "user_id=user-456",
           "--arg", "delay=1s"),
    "03": ("03_retries", "retry_demo_workflow", "--arg", "endpoint=/api/data"),
    "04": ("04_batch_processing", "batch_workflow", "--arg", "batch_id=batch-789",
           "--arg", "limit=5"),
    "05": ("05_idempotency", "payment_workflow", "--arg", "payment_id=pay-123",
           "--arg", "amount=99.99", "--idempotency-key", "payment-pay-123"),
    "06": ("06_fault_tolerance", "data_pipeline", "--arg", "data_id=d-1",
           "--arg", "step_seconds=0.1", "--arg", "pause=1s"),
    "07": ("07_hooks", "approval_workflow", "--arg", "order_id=order-123",
           "--arg", "amount=1250"),
    "08": ("08_cancellation", "cancellable_order_workflow", "--arg", "order_id=order-123"),
    "09": ("09_child_workflows", "order_fulfillment_workflow", "--arg", "order_id=order-456",
           "--arg", "amount=149.99", "--arg", "customer_email=customer@example.com"),
    "10": ("10_child_workflow_patterns", "parallel_parent_workflow"),
}
#: CLI commands run at once: each is a process that spends most of its time importing,
#: and the runs they start or read are independent of one another.
CLI_AT_ONCE = 4


def test_examples_01_to_10_complete_on_a_cluster(cluster: LocalCluster,
                                                 cluster_env: dict[str, str],
                                                 workers: list[Worker]) -> None:
    env = cluster_env
    with ThreadPoolExecutor(CLI_AT_ONCE) as pool:
        runs = dict(zip(STARTS, pool.map(lambda a: start(env, *a), STARTS.values()),
                        strict=True))
    # The same idempotency key names the same run.
    again = start(env, *STARTS["05"])
    assert again == runs["05"]

    hooks = wait_for(lambda: cli(env, "hooks", "list", "--run-id", runs["07"]), 60, 0.2,
                     "example 07's hook")
    cli(env, "--module", f"{PACKAGE}.07_hooks", "hooks", "resume", hooks[0]["token"],
        "--payload", '{"approved": true, "reviewer": "alice"}')
    wait_for(lambda: cli(env, "runs", "status", runs["08"])["status"] == "suspended", 60, 0.2,
             "example 08 to sleep")
    cancelled = cli(env, "runs", "cancel", runs["08"], "--wait", "--reason", "Customer cancelled")
    assert cancelled["status"] == "cancelled", cancelled

    records = settled(env, list(runs.values()))
    outcomes = {name: records[run_id] for name, run_id in runs.items()}
    expected = {name: "completed" for name in runs} | {"08": "cancelled"}
    assert {n: o["status"] for n, o in outcomes.items()} == expected, outcomes
    assert outcomes["07"]["result"]["reviewer"] == "alice"
    assert len(cli(env, "runs", "children", runs["09"])) >= 1

    with ThreadPoolExecutor(CLI_AT_ONCE) as pool:
        logs = dict(zip(runs, pool.map(lambda r: cli(env, "runs", "logs", r), runs.values()),
                        strict=True))
    for name, events in logs.items():  # each step recorded completed once per call
        calls = [e["data"]["call_id"] for e in events if e["type"] == "step_completed"]
        assert len(calls) == len(set(calls)), (name, calls)

    prefix = env["PYWORKFLOW_KEY_PREFIX"]
    spread = cluster.keys_per_node(f"{prefix}:*")
    assert all(count > 0 for count in spread.values()), spread
    for w in workers:
        assert "CROSSSLOT" not in w.log_text()


AIO_SCRIPT = """
import asyncio, importlib, json
from pyworkflow.client import aio

async def main():
    importlib.import_module("examples.celery.durable.01_basic_workflow")
    run_ids = await asyncio.gather(*(aio.start("order_workflow", f"aio-{i}", 5.0)
                                     for i in range(3)))
    results = await asyncio.gather(*(aio.get_result(r, timeout=60) for r in run_ids))
    listed = {r.run_id for r in await aio.list_workflow_runs(workflow="order_workflow",
                                                             limit=100)}
    events = await aio.get_workflow_events(run_ids[0])
    print(json.dumps({"results": results, "listed": sorted(set(run_ids) & listed),
                      "types": [e["type"] for e in events]}))

asyncio.run(main())
"""


def test_the_asyncio_client_works_on_a_cluster(cluster_env: dict[str, str],
                                               workers: list[Worker]) -> None:
    import sys

    proc = subprocess.run([sys.executable, "-c", AIO_SCRIPT], cwd=REPO,
                          env={**os.environ, **cluster_env}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r["status"] for r in out["results"]] == ["completed"] * 3
    assert len(out["listed"]) == 3
    assert out["types"][0] == "workflow_started" and out["types"][-1] == "workflow_completed"
