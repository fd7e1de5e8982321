"""Per-step cost of a Celery task awaited as a step (``step.from_task``) against a
native ``@step`` doing the same nothing: the goal is equal.

    python ops/bench/task_as_step.py [--n 100] [--reps 7]    # on its own: one worker
    python ops/bench/run.py                                  # also a row in its notes

Both workflows (``bench_sequential`` and ``bench_task_sequential``, in
``bench_workflows.py``, which the workers import) run ``n`` sequential steps that
return their argument. The runs alternate (native, task, native, task, ...) so
drift hits both alike; each figure is the median wall time per step, from
``start()`` until the run's record says completed (read every 0.5 ms, as ``run.py``
reads its workflows). What the task path adds is its request push/pop and the
exception mapping around the call (``pyworkflow.adopt.task_call``); everything else
is the same step machinery.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the repository's root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ops.bench._alone import run_alone, time_run  # noqa: E402


def measure(rt: Any, n: int = 100, reps: int = 7) -> tuple[float, float]:
    """(native ms/step, task-as-step ms/step), medians over ``reps`` alternating runs."""
    native: list[float] = []
    task: list[float] = []
    for _ in range(2):  # warm both paths (imports, caches) before timing
        time_run(rt, "bench_sequential", 10)
        time_run(rt, "bench_task_sequential", 10)
    for _ in range(reps):
        native.append(time_run(rt, "bench_sequential", n))
        task.append(time_run(rt, "bench_task_sequential", n))
    return (statistics.median(native) / n * 1000, statistics.median(task) / n * 1000)


def row(native_ms: float, task_ms: float, n: int, reps: int) -> str:
    return (f"task-as-step vs native step, sequential N={n} (median of {reps}, alternating): "
            f"{task_ms:.2f} vs {native_ms:.2f} ms/step (ratio {task_ms / native_ms:.2f}, "
            "goal 1.00)")


def bench_row(rt: Any, n: int = 100, reps: int = 7) -> str:
    """``run.py``'s hook: the row, measured on the workers it already runs."""
    native_ms, task_ms = measure(rt, n, reps)
    return row(native_ms, task_ms, n, reps)


def main(argv: list[str] | None = None) -> int:
    return run_alone(__doc__ or "", lambda rt, n, reps: [bench_row(rt, n, reps)], 100, argv)


if __name__ == "__main__":
    sys.exit(main())
