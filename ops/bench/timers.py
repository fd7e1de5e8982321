"""The timers workload: many runs asleep at once, each waking into one step.

pyworkflow: ``count`` runs of ``bench_sleep_then_step(seconds)`` started back to
back (``sleep(seconds)``, then a step returning the wall time); each run's result
is its lateness: when the step after the sleep ran, minus when the sleep was due
(the run's time at the sleep plus ``seconds``, the timer's own due time). DBOS
runs the same workflow (``dbos_peer.py``). Also samples the pyworkflow worker's
RSS before the runs start, while they sleep and wake (peak), and after: with
10,000 runs, worker memory should stay flat (a sleeping run costs no worker memory).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from ._proctree import TreeSampler


@dataclass
class TimerResult:
    system: str
    count: int
    seconds: float
    start_s: float  # time to start every run
    lateness_s: list[float] = field(default_factory=list)
    rss_before: int | None = None
    rss_peak: int | None = None
    rss_after: int | None = None

    def pct_ms(self, q: float) -> float:
        ordered = sorted(self.lateness_s)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.lateness_s) * 1000

    @property
    def p99_ms(self) -> float:
        return self.pct_ms(0.99)

    @property
    def max_ms(self) -> float:
        return max(self.lateness_s) * 1000

    @property
    def memory_growth(self) -> float | None:
        if not self.rss_before or not self.rss_peak:
            return None
        return self.rss_peak / self.rss_before


def run_pyworkflow(bench: Any, sampler: TreeSampler, count: int, seconds: float,
                   timeout: float) -> TimerResult:
    """Starts ``count`` sleeping runs, waits for all, returns their lateness."""
    from pyworkflow import start
    from pyworkflow.run_info import run_info_from_record

    bw = bench.bw
    rss_before = sampler.current("pyworkflow")[0] if "pyworkflow" in sampler.roots else None
    t0 = time.perf_counter()
    run_ids = [start(bw.bench_sleep_then_step, seconds) for _ in range(count)]
    start_s = time.perf_counter() - t0
    peak = [rss_before or 0]

    def on_poll() -> None:
        if rss_before is not None:
            peak[0] = max(peak[0], sampler.current("pyworkflow")[0])

    # Each run's lateness is its own result, so polling does not change it; but a poll
    # reads every pending record, which with thousands of runs loads the Redis and the
    # CPUs the worker needs: poll less often the more runs there are.
    bench.wait_completed(run_ids, timeout, on_poll=on_poll, every=max(0.25, count / 2000))
    redis = bench.rt.redis
    lateness: list[float] = []
    for i in range(0, len(run_ids), 500):
        chunk = run_ids[i:i + 500]
        pipe = redis.pipeline(transaction=False)
        for rid in chunk:
            pipe.hgetall(bench.record_key(rid))
        for rid, rec in zip(chunk, pipe.execute(), strict=True):
            lateness.append(float(run_info_from_record(rid, rec).result))
    rss_after = sampler.current("pyworkflow")[0] if rss_before is not None else None
    return TimerResult("pyworkflow", count, seconds, start_s, lateness,
                       rss_before, peak[0] or None, rss_after)


def run_dbos(peer: Any, count: int, seconds: float, timeout: float) -> TimerResult:
    out = peer.call("timers", timeout=timeout, count=count, seconds=seconds)
    return TimerResult("DBOS", count, seconds, float(out["start_s"]),
                       [float(x) for x in out["lateness"]])
