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

import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the repository's root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ops.bench._alone import run_alone, time_run  # noqa: E402


def measure(rt: Any, n: int = 50, reps: int = 7) -> dict[str, float]:
    """Medians: ms per run (plain, limited), ms per step (plain, slot, rated), and µs per
    call of the rate limiter's script."""
    for _ in range(2):  # warm every path
        for kind in ("plain", "slot", "rated"):
            time_run(rt, "bench_flow_steps", kind, 5)
        time_run(rt, "bench_flow_run_plain", 0)
        time_run(rt, "bench_flow_run_limited", 0)
    runs: dict[str, list[float]] = {"plain": [], "limited": []}
    steps: dict[str, list[float]] = {"plain": [], "slot": [], "rated": []}
    for rep in range(reps):
        for name in ("plain", "limited"):
            per_run = [time_run(rt, f"bench_flow_run_{name}", rep * n + i) for i in range(n)]
            runs[name].append(statistics.median(per_run) * 1000)
        for kind in steps:
            steps[kind].append(time_run(rt, "bench_flow_steps", kind, n) / n * 1000)
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
    return run_alone(__doc__ or "", bench_rows, 50, argv)


if __name__ == "__main__":
    sys.exit(main())
