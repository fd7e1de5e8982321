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

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def time_run(rt: Any, workflow_name: str, n: int, timeout: float = 120.0) -> float:
    """Seconds from ``start()`` to the run's record saying completed."""
    from pyworkflow import start

    t0 = time.perf_counter()
    run_id = start(workflow_name, n)
    record = rt.system.actor_keys(str(run_id)).record
    deadline = time.monotonic() + timeout
    while True:
        raw = rt.redis.hget(record, "status")
        status = raw.decode() if raw else ""
        if status == "completed":
            return time.perf_counter() - t0
        if status in ("failed", "cancelled", "parked") or time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} of {workflow_name} is {status or 'pending'}")
        time.sleep(0.0005)


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    os.environ["PYWORKFLOW_KEY_PREFIX"] = prefix
    os.environ.setdefault("PYWORKFLOW_LOG_FORMAT", "json")
    from ops.bench import bench_workflows  # noqa: F401  (the workflows, by name)
    from ops.bench.run import Workers, delete_keys
    from pyworkflow.worker import _runtime

    rt = _runtime.runtime()
    log_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-logs-"))
    workers = Workers(1, args.concurrency, "prefork", "INFO", log_dir, dict(os.environ))
    try:
        workers.start()
        workers.wait_ready(60)
        native_ms, task_ms = measure(rt, args.n, args.reps)
        print(row(native_ms, task_ms, args.n, args.reps), flush=True)
    finally:
        workers.stop()
        delete_keys(rt.redis, prefix)
    return 0


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main())
