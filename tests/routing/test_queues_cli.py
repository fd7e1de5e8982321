"""``pyworkflow queues list|show`` on real workers: what each queue holds and who reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import pyworkflow
from pyworkflow.cli import cli
from tests import routing_workflows_pools as pools
from tests._workers import Worker, wait_for


def _json(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["--output", "json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_queues_show_a_step_waiting_on_a_queue_no_worker_reads(rt: Any, log_dir: Path) -> None:
    worker = Worker(pools.__name__, log_dir, "qcli", queues="billing").start()
    try:
        run_id = pyworkflow.start(pools.routing_billing)
        gpu = wait_for(lambda: (q := _json("queues", "show", "gpu"))["steps_waiting"] and q,
                       30, message="the gpu step queued")
        assert gpu["workers"] == [] and gpu["steps_waiting"] == 1
        assert sum(gpu["levels"]["steps"].values()) == 1
        listed = {q["queue"]: q for q in _json("queues", "list")["queues"]}
        billing = listed["billing"]
        assert [w["queues"] for w in billing["workers"]] == [["billing"]]
        assert "routing_billing" in billing["workers"][0]["workflows"]
        assert "routing_render" in billing["workers"][0]["steps"]
        assert pyworkflow.get_workflow_run(run_id).status == "running"
        text = CliRunner().invoke(cli, ["queues", "show", "gpu"]).output
        assert "Steps waiting:" in text and "none alive" in text
        bad = CliRunner().invoke(cli, ["queues", "show", "no way"])
        assert bad.exit_code != 0 and "is not a queue name" in bad.output
    finally:
        worker.stop()
