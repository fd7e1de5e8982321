"""Flow control seen from outside: the queues CLI's limits section and ``/metrics``."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from starlette.testclient import TestClient

import pyworkflow
from pyworkflow.cli import cli
from pyworkflow.cli.flow_limits import limits_data, show_limits
from pyworkflow.metrics import render_metrics
from pyworkflow.web import create_app
from tests._workers import Worker, wait_for
from tests.web.conftest import LOCAL

MODULE = "tests.flow_workflows"


def _metric(text: str, name: str, labels: str) -> float:
    found = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_slots_waits_and_deferred_starts_show_in_the_cli_and_metrics(
        rt: Any, log_dir: Path, capsys: Any) -> None:
    import tests.flow_workflows  # noqa: F401

    prefix = rt.settings.key_prefix
    worker = Worker(MODULE, log_dir, "flow-visible", pool="threads", concurrency=8).start()
    try:
        key = f"vis-{uuid.uuid4().hex[:6]}"
        ids = [pyworkflow.start("per_customer", key, 1.5) for _ in range(3)]
        wait_for(lambda: all(pyworkflow.get_workflow_run(r).status == "running" for r in ids),
                 30, message="three runs holding the slots")
        ids += [pyworkflow.start("per_customer", key, 0.1) for _ in range(2)]
        mine = f"customer_id={key}"

        def seen() -> Any:
            found = [s for s in limits_data(rt.redis, prefix)["slots"] if s["key"] == mine]
            return found and found[0]["waiting"] == 2 and found[0]
        state = wait_for(seen, 30, message="two runs waiting")
        assert (state["limit"], state["held"], state["max"]) == ("workflow:per_customer", 3, 3)
        show_limits(rt.redis, prefix, "workflow:per_customer")
        shown = capsys.readouterr().out
        assert re.search(rf"workflow:per_customer\s+{mine}\s+3\s+3\s+2", shown), shown
        text = CliRunner().invoke(cli, ["queues", "show"], catch_exceptions=False).output
        assert "Concurrency limits" in text
        assert re.search(rf"workflow:per_customer\s+{mine}\s+3\s+3\s+2", text), text
        listed = json.loads(CliRunner().invoke(cli, ["--output", "json", "queues", "show"],
                                               catch_exceptions=False).output)
        assert {"limit": "workflow:per_customer", "key": mine, "held": 3, "waiting": 2,
                "max": 3} in listed["limits"]["slots"]
        page = TestClient(create_app(), base_url=LOCAL).get("/api/queues").json()
        assert {"limit": "workflow:per_customer", "key": mine, "held": 3, "waiting": 2,
                "max": 3} in page["limits"]["slots"]
        text = render_metrics()
        assert _metric(text, "pyworkflow_slots_held", 'limit="workflow:per_customer"') >= 3
        assert _metric(text, "pyworkflow_slots_waiting", 'limit="workflow:per_customer"') >= 2

        bucket = uuid.uuid4().hex[:6]
        rated = pyworkflow.start("rated_batch", bucket, 25, f"{prefix}:test:marks:{bucket}")
        for run_id in [*ids, rated]:
            pyworkflow.get_result(run_id, timeout=60)
        wait_for(lambda: _metric(render_metrics(), "pyworkflow_rate_limited_total",
                                 'step="rated"') >= 20, 30, message="deferred starts counted")
        wait_for(lambda: _metric(render_metrics(), "pyworkflow_slot_wait_seconds_count",
                                 'limit="workflow:per_customer"') >= 2, 30,
                 message="the two waits counted")
        show_limits(rt.redis, prefix)
        assert "step:rated" in capsys.readouterr().out
    finally:
        worker.stop()
