"""``GET /metrics`` after real runs: Prometheus text, every metric ``pyworkflow_...``."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.testclient import TestClient

import pyworkflow
from pyworkflow import keys
from pyworkflow.metrics.run_tally import current_tally
from pyworkflow.web import create_app
from pyworkflow.worker import _runtime
from pyworkflow.worker import step_metrics as step_counters
from pyworkflow.worker.counter_buffer import buffer_for
from pyworkflow.worker.retention import RunRetention
from tests._workers import Worker, wait_for
from tests.web.conftest import LOCAL, pending_hook

_SAMPLE = re.compile(r'^(pyworkflow_[a-z_]+)(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf)$')


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


def series(name: str, **labels: str) -> str:
    """A sample's key as the scrape prints it (prometheus_client sorts the labels)."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if labels else name


def test_runs_by_workflow_and_status_after_runs(rt: Any, workers: list[Worker]) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    for earlier in pyworkflow.list_workflow_runs(workflow="dash_failing", limit=10_000):
        pyworkflow.wait_for_run(earlier.run_id, 30)  # other tests' runs: settled first
    before = scrape(client)
    failed = [pyworkflow.start("dash_failing") for _ in range(3)]
    waiting = pyworkflow.start("dash_order", "o-metrics")
    for run_id in failed:
        pyworkflow.wait_for_run(run_id, 30)
    pending_hook(waiting)
    after = scrape(client)
    key = series("pyworkflow_runs", workflow="dash_failing", status="failed")
    assert after[key] - before.get(key, 0) == 3
    assert after[series("pyworkflow_runs", workflow="dash_order", status="suspended")] >= 1 or \
        after.get(series("pyworkflow_runs", workflow="dash_order", status="running"), 0) >= 1
    assert after["pyworkflow_runs_indexed"] == after["pyworkflow_runs_counted"]
    pyworkflow.cancel_workflow(waiting)


def test_step_counters_add_up_across_processes(rt: Any) -> None:
    """Each process adds to one Redis hash; the scrape shows the sum (here: two
    "processes" are two calls, as prefork children would make them)."""
    runtime = _runtime.runtime()
    prefix = runtime.settings.key_prefix
    for seconds, outcome in ((0.02, "completed"), (0.3, "failed"), (0.04, "completed")):
        step_counters.record_attempt(runtime.redis, prefix, "metric_step", outcome, seconds)
    buffer_for(runtime.redis).flush()  # a worker's buffer does this within a second
    samples = scrape(TestClient(create_app(), base_url=LOCAL))
    step = "metric_step"
    assert samples[series("pyworkflow_step_attempts_total", step=step, outcome="completed")] == 2
    assert samples[series("pyworkflow_step_attempts_total", step=step, outcome="failed")] == 1
    assert samples[series("pyworkflow_step_duration_seconds_count", step=step)] == 3
    assert samples[series("pyworkflow_step_duration_seconds_bucket", step=step, le="0.05")] == 2
    assert abs(samples[series("pyworkflow_step_duration_seconds_sum", step=step)] - 0.36) < 1e-9


def _delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def _counted_up(client: TestClient) -> dict[str, float]:
    """A scrape once the workers' buffers have written the counts of every
    ``dash_failing`` run there is (each started and failed)."""
    def done() -> dict[str, float] | None:
        samples = scrape(client)
        runs = samples.get(series("pyworkflow_runs", workflow="dash_failing", status="failed"), 0)
        counted = [samples.get(series("pyworkflow_runs_started_total", workflow="dash_failing"),
                               0),
                   samples.get(series("pyworkflow_runs_finished_total", workflow="dash_failing",
                                      status="failed"), 0)]
        return samples if counted == [runs, runs] else None

    return wait_for(done, 30, 0.2, "the workers' counts")  # type: ignore[no-any-return]


def test_worker_counters_after_real_runs(rt: Any, workers: list[Worker]) -> None:
    """Runs started and finished, turn latency and timer lateness are counted in Redis
    by the worker's processes, and the finished count survives the runs' purge."""
    client = TestClient(create_app(), base_url=LOCAL)
    for earlier in pyworkflow.list_workflow_runs(limit=10_000):
        if earlier.workflow == "dash_failing":
            pyworkflow.wait_for_run(earlier.run_id, 30)
    before = _counted_up(client)
    failed = [pyworkflow.start("dash_failing") for _ in range(3)]
    waiting = pyworkflow.start("dash_order", "o-counters")  # a step retry and a sleep
    for run_id in failed:
        pyworkflow.wait_for_run(run_id, 30)
    pending_hook(waiting)  # past its sleep: its timers fired
    started = series("pyworkflow_runs_started_total", workflow="dash_failing")
    finished = series("pyworkflow_runs_finished_total", workflow="dash_failing", status="failed")
    # The workers write their counts about once a second (counter_buffer).
    after = wait_for(lambda: (lambda s: s if _delta(s, before, finished) >= 3 and
                              _delta(s, before, "pyworkflow_timer_lateness_seconds_count") >= 1
                              else None)(scrape(client)), 30, 0.2, "the workers' counts")
    assert _delta(after, before, started) == 3
    assert _delta(after, before, finished) == 3
    order_started = series("pyworkflow_runs_started_total", workflow="dash_order")
    assert _delta(after, before, order_started) == 1
    # three starts, three step reports, ... each message handled is one observation
    assert _delta(after, before, "pyworkflow_turn_latency_seconds_count") >= 6
    assert _delta(after, before, "pyworkflow_turn_latency_seconds_sum") >= 0
    assert after[series("pyworkflow_turn_latency_seconds_bucket", le="+Inf")] == \
        after["pyworkflow_turn_latency_seconds_count"]
    assert _delta(after, before, "pyworkflow_timer_lateness_seconds_count") >= 1

    # Retention purges the finished runs: the gauge goes down, the counters do not.
    retention = RunRetention(rt.redis, rt.settings.key_prefix, rt.system)
    assert all(retention.purge(run_id, force=True) for run_id in failed)
    purged = scrape(client)
    gauge = series("pyworkflow_runs", workflow="dash_failing", status="failed")
    assert purged.get(gauge, 0) == after[gauge] - 3
    assert purged[finished] == after[finished] and purged[started] == after[started]
    pyworkflow.cancel_workflow(waiting)


def test_workers_seen_by_their_heartbeat(rt: Any, workers: list[Worker]) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    wait_for(lambda: scrape(client)["pyworkflow_workers"] >= len(workers), 30,
             message="the workers' heartbeats")
    members = rt.redis.zrange(keys.worker_heartbeats(rt.settings.key_prefix), 0, -1)
    assert any(m.decode().endswith(f":{w.pid}") for m in members for w in workers)


def test_backlog_gauges_read_mailboxes_queues_and_dead_letters(rt: Any,
                                                               workers: list[Worker]) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    before = scrape(client)
    for name in (series("pyworkflow_queue_messages", queue="turns"),
                 series("pyworkflow_queue_messages", queue="steps"), "pyworkflow_actors_active",
                 "pyworkflow_timers_pending", "pyworkflow_timers_overdue",
                 "pyworkflow_dead_letters", "pyworkflow_mailboxes_read"):
        assert name in before, name
    # A busy actor (in the lease index, its lease far ahead so recovery leaves it be)
    # with three messages waiting in its mailbox.
    actor = "metrics-backlog-actor"
    mailbox = rt.system.actor_keys(actor).mailbox
    rt.redis.zadd(rt.system.keys.lease_index_of(actor), {actor: time.time() * 1000 + 3_600_000})
    rt.redis.rpush(mailbox, b"one", b"two", b"three")
    try:
        during = scrape(client)
        assert _delta(during, before, "pyworkflow_mailbox_messages") >= 3
        assert during["pyworkflow_mailbox_max_messages"] >= 3
        assert during["pyworkflow_actors_active"] >= 1
    finally:
        rt.redis.zrem(rt.system.keys.lease_index_of(actor), actor)
        rt.redis.delete(mailbox)
    # Something that is not a task, put in the steps queue: the worker dead-letters it.
    rt.system.mailbox.put_raw(rt.queues["steps"], b"not a celery task")
    wait_for(lambda: _delta(scrape(client), before, "pyworkflow_dead_letters_added_total") >= 1,
             30, message="the dead letter to be counted")
    assert scrape(client)["pyworkflow_dead_letters"] >= 1
