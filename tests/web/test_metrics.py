"""``GET /metrics`` after real runs: Prometheus text, every metric ``pyworkflow_...``."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

import pyworkflow
from pyworkflow import _runtime
from pyworkflow import step_metrics as step_counters
from pyworkflow.metrics.run_tally import current_tally
from pyworkflow.web import create_app
from tests._workers import Worker
from tests.web.conftest import pending_hook

_SAMPLE = re.compile(r'^(pyworkflow_[a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+|\+Inf)$')


def scrape(client: TestClient) -> dict[str, float]:
    current_tally(max_age=0)  # the next scrape counts what is in Redis now
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for line in resp.text.splitlines():
        if line.startswith("#"):
            assert line.split()[2].startswith("pyworkflow_"), line
            continue
        match = _SAMPLE.match(line)
        assert match, line
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def test_runs_by_workflow_and_status_after_runs(rt: Any, workers: list[Worker]) -> None:
    client = TestClient(create_app())
    for earlier in pyworkflow.list_workflow_runs(workflow="dash_failing", limit=10_000):
        pyworkflow.wait_for_run(earlier.run_id, 30)  # other tests' runs: settled first
    before = scrape(client)
    failed = [pyworkflow.start("dash_failing") for _ in range(3)]
    waiting = pyworkflow.start("dash_order", "o-metrics")
    for run_id in failed:
        pyworkflow.wait_for_run(run_id, 30)
    pending_hook(waiting)
    after = scrape(client)
    key = 'pyworkflow_runs{workflow="dash_failing",status="failed"}'
    assert after[key] - before.get(key, 0) == 3
    assert after['pyworkflow_runs{workflow="dash_order",status="suspended"}'] >= 1 or \
        after.get('pyworkflow_runs{workflow="dash_order",status="running"}', 0) >= 1
    assert after["pyworkflow_runs_indexed"] == after["pyworkflow_runs_counted"]
    pyworkflow.cancel_workflow(waiting)


def test_step_counters_add_up_across_processes(rt: Any) -> None:
    """Each process adds to one Redis hash; the scrape shows the sum (here: two
    "processes" are two calls, as prefork children would make them)."""
    runtime = _runtime.runtime()
    prefix = runtime.settings.key_prefix
    for seconds, outcome in ((0.02, "completed"), (0.3, "failed"), (0.04, "completed")):
        step_counters.record_attempt(runtime.redis, prefix, "metric_step", outcome, seconds)
    samples = scrape(TestClient(create_app()))
    assert samples['pyworkflow_step_attempts_total{step="metric_step",outcome="completed"}'] == 2
    assert samples['pyworkflow_step_attempts_total{step="metric_step",outcome="failed"}'] == 1
    assert samples['pyworkflow_step_duration_seconds_count{step="metric_step"}'] == 3
    assert samples['pyworkflow_step_duration_seconds_bucket{step="metric_step",le="0.05"}'] == 2
    assert abs(samples['pyworkflow_step_duration_seconds_sum{step="metric_step"}'] - 0.36) < 1e-9
