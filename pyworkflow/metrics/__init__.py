"""``GET /metrics``: pyworkflow's state in the Prometheus text format.

Every number is read from Redis (or the broker) at scrape time, so every web process
shows the same deployment-wide numbers, and the many processes of a prefork pool on
many machines are added up right. Three sources:

* **counters kept in Redis** by the processes that do the work, which only go up:
  step attempts and durations (:mod:`pyworkflow.worker.step_metrics`), runs started and
  finished, turn latency and timer lateness (:mod:`pyworkflow.worker.turn_metrics`);
  :mod:`.counters` turns them into metric families;
* **what is waiting now** (:mod:`.backlog`): Celery queues, busy runs' mailboxes,
  timers, dead letters, live workers; each a bounded read;
* **runs by workflow and status** (:mod:`.run_tally`), counted from the runs' records
  (cached a few seconds): ``pyworkflow_runs`` is a gauge, since retention purges
  finished runs; ``pyworkflow_runs_started_total`` and ``..._finished_total`` are the
  counters to take rates of.

``prometheus_client`` formats them (its escaping and number formats), through a
custom collector on a registry of our own: nothing lives in the process's default
registry and no multiprocess directory is needed, because the numbers already live
in Redis.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..worker._runtime import runtime
from .backlog import backlog_families
from .counters import step_families, turn_families
from .flow import flow_families
from .routing import routing_families
from .run_tally import Tally, current_tally

__all__ = ["CONTENT_TYPE", "PyworkflowCollector", "render_metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


def _run_families(tally: Tally) -> Iterator[Metric]:
    runs = GaugeMetricFamily("pyworkflow_runs", "Runs in Redis now, by workflow and status "
                             "(retention purges finished runs: a gauge; see "
                             "pyworkflow_runs_finished_total).", labels=["workflow", "status"])
    for (workflow, status), n in sorted(tally.counts.items()):
        runs.add_metric([workflow, status], n)
    yield runs
    yield GaugeMetricFamily("pyworkflow_runs_indexed", "Runs in the runs index.",
                            value=tally.indexed)
    yield GaugeMetricFamily("pyworkflow_runs_counted",
                            "Runs counted by the last tally (newest first).", value=tally.counted)
    yield GaugeMetricFamily("pyworkflow_runs_tally_seconds", "How long the last tally took.",
                            value=tally.took_s)


class PyworkflowCollector(Collector):
    """Every pyworkflow metric, read anew at each collect (blocking Redis calls)."""

    def collect(self) -> Iterator[Metric]:
        rt = runtime()
        prefix = rt.settings.key_prefix
        yield from _run_families(current_tally())
        yield from turn_families(rt.redis, prefix)
        yield from step_families(rt.redis, prefix)
        yield from backlog_families(rt)
        yield from flow_families(rt.redis, prefix)
        yield from routing_families(rt)


def render_metrics() -> str:
    """Every metric, as the Prometheus text format (blocking: a few Redis round trips)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PyworkflowCollector())
    return generate_latest(registry).decode()
