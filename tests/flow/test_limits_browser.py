"""The dashboard's queues page draws the limits section in a real headless Chromium (the
browser and server fixtures are the dashboard tests'; skipped where Chromium is missing)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyworkflow
from tests._workers import Worker, wait_for
from tests.web.test_browser import browser, site, texts  # noqa: F401  (fixtures)

MODULE = "tests.flow_workflows"


def test_the_queues_page_shows_slots_held_and_waiting_per_key(
        browser: Any, site: str, log_dir: Path) -> None:  # noqa: F811
    import tests.flow_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, "flow-browser", pool="threads", concurrency=8).start()
    try:
        key = f"web-{uuid.uuid4().hex[:6]}"
        holders = [pyworkflow.start("per_customer", key, 6.0) for _ in range(3)]
        wait_for(lambda: all(pyworkflow.get_workflow_run(r).status == "running"
                             for r in holders), 30, message="three runs holding the slots")
        waiters = [pyworkflow.start("per_customer", key, 0.0) for _ in range(2)]
        browser.get(site + "/queues")
        wanted = f"workflow:per_customer customer_id={key} 3 3 2"
        wait_for(lambda: wanted in texts(browser, "#slots-table tbody tr"), 20,
                 message="the limit key's row on the queues page")
        for run_id in holders + waiters:
            pyworkflow.get_result(run_id, timeout=60)
    finally:
        worker.stop()
