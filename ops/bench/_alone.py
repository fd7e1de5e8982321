"""What a bench script needs to run on its own, beside ``run.py``: one worker on a
fresh key prefix, a run timed from ``start()`` to its record saying completed, and
the keys deleted afterwards. ``flow_control.py`` and ``task_as_step.py`` use it."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def time_run(rt: Any, workflow_name: str, *args: Any, timeout: float = 120.0) -> float:
    """Seconds from ``start()`` to the run's record saying completed (read every
    0.5 ms, as ``run.py`` reads its workflows)."""
    from pyworkflow import start

    t0 = time.perf_counter()
    run_id = start(workflow_name, *args)
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


def run_alone(doc: str, rows: Callable[[Any, int, int], list[str]], default_n: int,
              argv: list[str] | None = None) -> int:
    """Parse ``--n/--reps/--concurrency``, start one prefork worker on a key prefix of
    its own, print ``rows(rt, n, reps)``, stop it and delete the prefix's keys."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=default_n)
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
        for line in rows(rt, args.n, args.reps):
            print(line, flush=True)
    finally:
        workers.stop()
        delete_keys(rt.redis, prefix)
    return 0
