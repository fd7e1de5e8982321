"""Routing at scrape time: work waiting for a worker that has its code, workers per
queue, and the backlog of each named queue (``pyworkflow.routing``).

``pyworkflow_runs_waiting_for_worker{workflow}`` is the number to alert on: runs no
live worker can run (their workflow is advertised by none), which move on by
themselves once such a worker starts (``worker.hand_back``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

from ..routing import DEFAULT_QUEUE
from ..worker.queue_report import queue_reports, waiting_for_workers

__all__ = ["routing_families"]


def routing_families(rt: Any) -> Iterator[Metric]:
    runs = GaugeMetricFamily("pyworkflow_runs_waiting_for_worker",
                             "Runs waiting for a worker that has their workflow (no live "
                             "worker advertises it).", labels=["workflow"])
    steps = GaugeMetricFamily("pyworkflow_steps_waiting_for_worker",
                              "Step attempts waiting for a worker that has their step.",
                              labels=["step"])
    readers = GaugeMetricFamily("pyworkflow_waiting_for_queue_reader",
                                "Runs and step attempts in a queue no live worker reads "
                                "(kept waiting instead of queued again).", labels=["queue"])
    for waiting in waiting_for_workers(rt):
        kind, _, name = waiting.need.partition(":")
        {"workflow": runs, "step": steps}.get(kind, readers).add_metric([name], waiting.count)
    yield runs
    yield steps
    yield readers
    workers = GaugeMetricFamily("pyworkflow_queue_workers",
                                "Live workers reading a queue (their adverts).",
                                labels=["queue"])
    backlog = GaugeMetricFamily("pyworkflow_named_queue_messages",
                                "Task messages waiting in a named queue (the default "
                                "queue's are pyworkflow_queue_messages).",
                                labels=["queue", "role"])
    for report in queue_reports(rt):
        workers.add_metric([report.name], len(report.workers))
        if report.name != DEFAULT_QUEUE:
            backlog.add_metric([report.name, "turns"], report.turns_waiting)
            backlog.add_metric([report.name, "steps"], report.steps_waiting)
    yield workers
    yield backlog
