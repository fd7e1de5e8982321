"""Flow control's metric families: slots held and waiting per limit (read at scrape
time, ``flow.status``), how long slots were waited for and how many step starts a rate
limit deferred (counted by the workers, ``flow.grants``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from .. import keys
from ..flow.status import limit_states

__all__ = ["flow_families"]


def _le_key(le: str) -> float:
    return float("inf") if le == "+Inf" else float(le)


def flow_families(redis: Any, prefix: str) -> Iterator[Metric]:
    held = GaugeMetricFamily("pyworkflow_slots_held", "Concurrency slots held now, by limit "
                             "(workflow:<name> or step:<name>, all its keys together).",
                             labels=["limit"])
    waiting = GaugeMetricFamily("pyworkflow_slots_waiting", "Runs and step attempts waiting "
                                "for a concurrency slot now, by limit.", labels=["limit"])
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for state in limit_states(redis, prefix):
        totals[state.limit][0] += state.held
        totals[state.limit][1] += state.waiting
    for name, (h, w) in sorted(totals.items()):
        held.add_metric([name], h)
        waiting.add_metric([name], w)
    yield held
    yield waiting
    counted = {(k.decode() if isinstance(k, bytes) else k): float(v)
               for k, v in redis.hgetall(keys.flow_metrics(prefix)).items()}
    waits = HistogramMetricFamily("pyworkflow_slot_wait_seconds", "How long runs and step "
                                  "attempts waited for a concurrency slot, by limit.",
                                  labels=["limit"])
    buckets: dict[str, list[tuple[str, float]]] = defaultdict(list)
    sums: dict[str, float] = {}
    limited = CounterMetricFamily("pyworkflow_rate_limited", "Step attempts a rate limit "
                                  "deferred to a later start, by step.", labels=["step"])
    for field, value in sorted(counted.items()):
        kind, _, rest = field.partition("|")
        if kind == "wait_bucket":
            name, _, le = rest.rpartition("|")
            buckets[name].append((le, value))
        elif kind == "wait_seconds":
            sums[rest] = value
        elif kind == "rate_limited":
            limited.add_metric([rest], value)
    for name in sorted(set(buckets) | set(sums)):
        ordered = sorted(buckets.get(name, []), key=lambda b: _le_key(b[0]))
        if not ordered or ordered[-1][0] != "+Inf":
            ordered.append(("+Inf", ordered[-1][1] if ordered else 0.0))
        waits.add_metric([name], ordered, sums.get(name, 0.0))
    yield waits
    yield limited
