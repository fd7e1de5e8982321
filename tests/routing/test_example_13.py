"""Example 13 as its README runs it: two worker pools, a billing run, an urgent run."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pyworkflow
from tests._workers import Worker

MODULE = "examples.celery.durable.13_flow_control"


def test_13_routes_billing_and_gpu_work_to_their_pools(rt: Any, log_dir: Path) -> None:
    example = importlib.import_module(MODULE)
    billing = Worker(MODULE, log_dir, "ex13-billing", extra_env={"ROUTING_POOL": "billing"},
                     queues="billing").start(wait=False)
    gpu = Worker(MODULE, log_dir, "ex13-gpu", extra_env={"ROUTING_POOL": "gpu"},
                 queues="gpu").start(wait=False)
    try:
        billing.wait_ready()
        gpu.wait_ready()
        run_id = pyworkflow.start(example.billing_workflow, "c-1", 42.0)
        result = pyworkflow.get_result(run_id, timeout=60)
        assert result["orchestrated_by"] == "billing"
        assert result["payment"]["pool"] == "billing"
        assert result["invoice"]["pool"] == "gpu"
        urgent = pyworkflow.start(example.urgent_refund, "c-9", priority=9)
        assert urgent.endswith("@billing+9")
        assert pyworkflow.get_result(urgent, timeout=60)["refunded"] is True
    finally:
        billing.stop()
        gpu.stop()
