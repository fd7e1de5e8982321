"""``GET /metrics``: pyworkflow's state in the Prometheus text format.

Two sources, both in Redis, so every web process shows the same cluster-wide numbers
and a prefork pool's many processes are counted right:

* runs by workflow and status, counted from the runs' records at scrape time
  (:mod:`.run_tally`, cached a few seconds): ``pyworkflow_runs`` is a gauge (runs
  now in Redis in that status; retention purges finished ones), and
  ``pyworkflow_runs_indexed`` / ``pyworkflow_runs_counted`` show a capped count;
* step attempts and durations by step, counters kept in Redis by the processes that
  run the steps (:mod:`.step_counters`).

Written by hand (a few lines of text) rather than through ``prometheus_client``: no
registry or multiprocess directory is needed when the numbers already live in Redis.
"""

from __future__ import annotations

from collections import defaultdict

from .._runtime import runtime
from ..step_metrics import read_counters
from .run_tally import Tally, current_tally

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _run_lines(tally: Tally) -> list[str]:
    lines = ["# HELP pyworkflow_runs Runs in Redis, by workflow and status.",
             "# TYPE pyworkflow_runs gauge"]
    for (workflow, status), n in sorted(tally.counts.items()):
        lines.append(f'pyworkflow_runs{{workflow="{_label(workflow)}",'
                     f'status="{_label(status)}"}} {n}')
    lines += ["# HELP pyworkflow_runs_indexed Runs in the runs index.",
              "# TYPE pyworkflow_runs_indexed gauge", f"pyworkflow_runs_indexed {tally.indexed}",
              "# HELP pyworkflow_runs_counted Runs counted by the last tally (newest first).",
              "# TYPE pyworkflow_runs_counted gauge", f"pyworkflow_runs_counted {tally.counted}",
              "# HELP pyworkflow_runs_tally_seconds How long the last tally took.",
              "# TYPE pyworkflow_runs_tally_seconds gauge",
              f"pyworkflow_runs_tally_seconds {tally.took_s:.6f}"]
    return lines


def _step_lines(counters: dict[str, float]) -> list[str]:
    attempts: list[str] = []
    buckets: dict[str, list[tuple[str, float]]] = defaultdict(list)
    sums: dict[str, float] = {}
    for field, value in sorted(counters.items()):
        kind, _, rest = field.partition("|")
        if kind == "attempts":
            step, _, outcome = rest.rpartition("|")
            attempts.append(f'pyworkflow_step_attempts_total{{step="{_label(step)}",'
                            f'outcome="{_label(outcome)}"}} {int(value)}')
        elif kind == "seconds":
            sums[rest] = value
        elif kind == "bucket":
            step, _, le = rest.rpartition("|")
            buckets[step].append((le, value))
    lines = ["# HELP pyworkflow_step_attempts_total Step attempts finished, by step and outcome.",
             "# TYPE pyworkflow_step_attempts_total counter", *attempts,
             "# HELP pyworkflow_step_duration_seconds Step attempt durations, by step.",
             "# TYPE pyworkflow_step_duration_seconds histogram"]
    for step in sorted(set(buckets) | set(sums)):
        name = _label(step)
        ordered = sorted(buckets.get(step, []), key=lambda b: float(b[0].replace("+Inf", "inf")))
        for le, value in ordered:
            lines.append(f'pyworkflow_step_duration_seconds_bucket{{step="{name}",le="{le}"}} '
                         f"{int(value)}")
        count = int(ordered[-1][1]) if ordered else 0
        lines.append(f'pyworkflow_step_duration_seconds_sum{{step="{name}"}} '
                     f"{sums.get(step, 0.0)}")
        lines.append(f'pyworkflow_step_duration_seconds_count{{step="{name}"}} {count}')
    return lines


def render_metrics() -> str:
    """Every metric, as the Prometheus text format (blocking: a few Redis round trips)."""
    rt = runtime()
    lines = _run_lines(current_tally())
    lines += _step_lines(read_counters(rt.redis, rt.settings.key_prefix))
    return "\n".join(lines) + "\n"
