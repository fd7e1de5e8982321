"""What flow control costs: a run with a concurrency limit against the same run without,
a step with a concurrency limit or a rate limit against a plain one, and the rate
limiter's script on its own.

    python ops/bench/flow_control.py [--n 50] [--reps 7]    # on its own: one worker
    python ops/bench/run.py                                 # also rows in its notes

The limits never bind here (max and rate far above the load): what is measured is the
price of taking and letting go of a slot, or of asking the limiter, on every run or
step. Runs alternate (plain, limited, plain, ...) so drift hits both alike; each figure
is a median over ``reps``. The workflows are in ``flow_workflows.py``, imported by
``bench_workflows`` (the module the bench workers load).
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


def _time_run(rt: Any, workflow_name: str, *args: Any, timeout: float = 120.0) -> float:
    from pyworkflow import start

    t0 = time.perf_counter()
    run_id = start(workflow_name, *args)
    record = rt.system.actor_keys(str(run_id)).record
    deadline = time.monotonic() + timeout
    while True:
        raw = rt.redis.hget(record, "status")
        if raw == b"completed":
            return time.perf_counter() - t0
        if raw in (b"failed", b"cancelled", b"parked") or time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} of {workflow_name} is {raw!r}")
        time.sleep(0.0005)


def measure(rt: Any, n: int = 50, reps: int = 7) -> dict[str, float]:
    """Medians: ms per run (plain, limited), ms per step (plain, slot, rated), and µs per
    call of the rate limiter's script."""
    for _ in range(2):  # warm every path
        for kind in ("plain", "slot", "rated"):
            _time_run(rt, "bench_flow_steps", kind, 5)
        _time_run(rt, "bench_flow_run_plain", 0)
        _time_run(rt, "bench_flow_run_limited", 0)
    runs: dict[str, list[float]] = {"plain": [], "limited": []}
    steps: dict[str, list[float]] = {"plain": [], "slot": [], "rated": []}
    for rep in range(reps):
        for name in ("plain", "limited"):
            per_run = [_time_run(rt, f"bench_flow_run_{name}", rep * n + i) for i in range(n)]
            runs[name].append(statistics.median(per_run) * 1000)
        for kind in steps:
            steps[kind].append(_time_run(rt, "bench_flow_steps", kind, n) / n * 1000)
    out = {f"run_{k}": statistics.median(v) for k, v in runs.items()}
    out.update({f"step_{k}": statistics.median(v) for k, v in steps.items()})
    out["rate_script_us"] = _rate_script_us(rt)
    return out


def _rate_script_us(rt: Any, calls: int = 2000) -> float:
    """One ``rate_take.lua`` call, alone (a pipeline of ``calls``, so it is Redis's time
    and not a round trip's)."""
    from pyworkflow import keys
    from pyworkflow.worker._scripts import script

    take = script(rt.redis, "flow/rate_take")
    state = keys.rate_limit(rt.settings.key_prefix, "bench:rate", uuid.uuid4().hex[:6])
    pipe = rt.redis.pipeline(transaction=False)
    for i in range(calls):
        take(keys=state, args=[f"a{i}", 0.001, 1], client=pipe)
    t0 = time.perf_counter()
    pipe.execute()
    return (time.perf_counter() - t0) / calls * 1e6


def rows(m: dict[str, float], n: int, reps: int) -> list[str]:
    return [
        f"flow control, a run with a concurrency limit vs without (1 step, N={n} sequential "
        f"runs, median of {reps}): {m['run_limited']:.2f} vs {m['run_plain']:.2f} ms/run "
        f"(+{m['run_limited'] - m['run_plain']:.2f} ms)",
        f"flow control, a step with a concurrency limit / a rate limit vs plain (N={n} "
        f"sequential steps, median of {reps}): {m['step_slot']:.2f} / {m['step_rated']:.2f} "
        f"vs {m['step_plain']:.2f} ms/step; rate_take.lua alone {m['rate_script_us']:.1f} "
        "us/call",
    ]


def bench_rows(rt: Any, n: int = 50, reps: int = 7) -> list[str]:
    """``run.py``'s hook: the rows, measured on the workers it already runs."""
    return rows(measure(rt, n, reps), n, reps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50)
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
        for line in bench_rows(rt, args.n, args.reps):
            print(line, flush=True)
    finally:
        workers.stop()
        delete_keys(rt.redis, prefix)
    return 0


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main())
