"""The counters and histograms workers keep in Redis, as Prometheus metric families.

Two hashes: the step counters (:mod:`pyworkflow.worker.step_metrics`, one field per step and
outcome or bucket) and the turn counters (:mod:`pyworkflow.worker.turn_metrics`: runs
started and finished, turn latency, timer lateness). Both only ever go up, so they
are exposed as counters and histograms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from ..worker.step_metrics import read_counters
from ..worker.turn_metrics import HISTOGRAMS, le_text, read_turn_metrics

__all__ = ["step_families", "turn_families"]


def _le_key(le: str) -> float:
    return float("inf") if le == "+Inf" else float(le)


def _histogram(family: HistogramMetricFamily, labels: list[str],
               buckets: list[tuple[str, float]], total: float) -> None:
    ordered = sorted(buckets, key=lambda b: _le_key(b[0]))
    if not ordered or ordered[-1][0] != "+Inf":
        ordered.append(("+Inf", ordered[-1][1] if ordered else 0.0))
    family.add_metric(labels, [(le, float(n)) for le, n in ordered], total)


def step_families(redis: Any, prefix: str) -> Iterator[Metric]:
    attempts = CounterMetricFamily("pyworkflow_step_attempts",
                                   "Step attempts finished, by step and outcome.",
                                   labels=["step", "outcome"])
    durations = HistogramMetricFamily("pyworkflow_step_duration_seconds",
                                      "Step attempt durations, by step.", labels=["step"])
    buckets: dict[str, list[tuple[str, float]]] = defaultdict(list)
    sums: dict[str, float] = {}
    for field, value in sorted(read_counters(redis, prefix).items()):
        kind, _, rest = field.partition("|")
        if kind == "attempts":
            step, _, outcome = rest.rpartition("|")
            attempts.add_metric([step, outcome], value)
        elif kind == "seconds":
            sums[rest] = value
        elif kind == "bucket":
            step, _, le = rest.rpartition("|")
            buckets[step].append((le, value))
    for step in sorted(set(buckets) | set(sums)):
        _histogram(durations, [step], buckets.get(step, []), sums.get(step, 0.0))
    yield attempts
    yield durations


#: The turn counters: name -> (help, label names).
_TURN_COUNTERS = {
    "runs_started_total": ("Runs started, by workflow (never goes down: not derived "
                           "from the runs now in Redis).", ["workflow"]),
    "runs_finished_total": ("Runs that ended, by workflow and terminal status (a run "
                            "retried after its end counts again when it ends again).",
                            ["workflow", "status"]),
    "runs_parked_total": ("Runs parked (non-determinism, a setup error, history too "
                          "large), by workflow.", ["workflow"]),
}
_TURN_HISTOGRAMS = {
    "turn_latency_seconds": "From a message being sent to a run (or schedule) to the "
                            "turn that handles it taking it.",
    "timer_lateness_seconds": "From a durable timer's due time to a worker firing it.",
}


def turn_families(redis: Any, prefix: str) -> Iterator[Metric]:
    values = read_turn_metrics(redis, prefix)
    for name, (doc, labels) in _TURN_COUNTERS.items():
        family = CounterMetricFamily(f"pyworkflow_{name}", doc, labels=labels)
        for (series, label_values), value in sorted(values.items()):
            if series == name and len(label_values) == len(labels):
                family.add_metric(list(label_values), value)
        yield family
    for name, doc in _TURN_HISTOGRAMS.items():
        histogram = HistogramMetricFamily(f"pyworkflow_{name}", doc)
        buckets = [(labels[0], v) for (series, labels), v in values.items()
                   if series == f"{name}_bucket" and len(labels) == 1]
        known = {le for le, _ in buckets}
        # Every bound is shown, even before its first observation.
        buckets += [(le_text(b), 0.0) for b in HISTOGRAMS[name] if le_text(b) not in known]
        buckets = _cumulative_fill(buckets)
        _histogram(histogram, [], buckets, values.get((f"{name}_sum", ()), 0.0))
        yield histogram


def _cumulative_fill(buckets: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Cumulative buckets never go down with ``le``: a bound added to the table after
    observations were made (a field that does not exist yet) takes its lower neighbour's
    count."""
    out: list[tuple[str, float]] = []
    running = 0.0
    for le, n in sorted(buckets, key=lambda b: _le_key(b[0])):
        running = max(running, n)
        out.append((le, running))
    return out
