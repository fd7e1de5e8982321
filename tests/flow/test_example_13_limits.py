"""Example 13's limit and rate limit as its README runs them: three syncs of one customer,
two at once, their 15 CRM calls at 5 a second."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pyworkflow
from tests._workers import Worker, wait_for

MODULE = "examples.celery.durable.13_flow_control"


def test_13_limits_syncs_per_customer_and_rates_the_crm_calls(rt: Any, log_dir: Path) -> None:
    example = importlib.import_module(MODULE)
    worker = Worker(MODULE, log_dir, "ex13-limits", pool="threads", concurrency=8,
                    queues="billing").start()
    try:
        customer = f"c-{rt.settings.key_prefix[-6:]}"
        runs = [pyworkflow.start(example.sync_customer, customer) for _ in range(3)]
        wait_for(lambda: any((pyworkflow.get_workflow_run(r).waiting_for or "").startswith(
            f"waiting for a slot: customer_id={customer}, 2 of 2 held") for r in runs), 30,
            message="the third sync to wait for a slot")
        results = [pyworkflow.get_result(r, timeout=60) for r in runs]
        assert [r["pages"] for r in results] == [5, 5, 5]
        events = [e for r in runs for e in pyworkflow.get_workflow_events(r)]
        assert sum(e["type"] == "slot_waiting" for e in events) == 1
        assert sum(e["type"] == "step_redispatched" for e in events) >= 10  # rate deferrals
    finally:
        worker.stop()
