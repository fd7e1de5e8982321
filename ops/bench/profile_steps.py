"""Where a workflow step's time goes, without Celery in the way.

    python ops/bench/profile_steps.py [--steps 1000] [--profile] [--no-publish]

Runs ``bench_sequential(N)`` entirely in this process against the real Redis: the
turn and step tasks the runtime enqueues are executed here, in order (the bodies of
the registered Celery tasks, called directly), instead of
by a worker (each is still published to the broker, to a queue nobody consumes,
unless ``--no-publish``, so the cost of the publish is included; ``--cold`` empties
the state cache before every task, as if every turn landed on another process). For every step
task (the step plus the turn it runs in place plus the next step, kept and run in
place for up to 100 ms, or its publish after that) it records the wall time and the
Redis round trips, and prints them by slice of history, so a cost that grows with
the run's length shows up; ``--profile`` adds the top functions of a cProfile of the
whole run. Deletes its keys at the end.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

from pyworkflow.ids import STEP_TASK

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Profile workflow steps in-process.")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--slices", type=int, default=5, help="history slices to report")
    p.add_argument("--profile", action="store_true", help="print a cProfile summary")
    p.add_argument("--top", type=int, default=30, help="functions in the cProfile summary")
    p.add_argument("--cold", action="store_true",
                   help="empty the state cache before every task: every turn replays the run")
    p.add_argument("--sites", action="store_true",
                   help="count the Redis round trips of step tasks by engine call site")
    p.add_argument("--no-publish", action="store_true",
                   help="do not publish the Celery tasks (pure turn + step cost)")
    args = p.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script
    from ops.bench._in_process import profiled_runtime

    rt, queue, prefix = profiled_runtime("prof", publish=not args.no_publish)

    from ops.bench import _iotrace
    from ops.bench import bench_workflows as bw
    from ops.bench.run import delete_keys
    from pyworkflow import get_workflow_run, start

    system = rt.system
    profiler = cProfile.Profile() if args.profile else None
    sites: collections.Counter[str] = collections.Counter()
    per_step: list[tuple[float, int, float]] = []
    other: list[tuple[str, float, int]] = []
    try:
        started = time.perf_counter()
        run_id = start(bw.bench_sequential, args.steps)
        if profiler:
            profiler.enable()
        while queue:
            name, task_args, kwargs = queue.popleft()
            if args.cold:
                system.cache.evict(run_id)
            _iotrace.current.open()
            _iotrace.current.sites = sites if args.sites and name == STEP_TASK else None
            # The registered task's body, without Celery's tracing around it.
            rt.celery.tasks[name].run(*task_args, **kwargs)
            rts, io_s, wall = _iotrace.current.close()
            if name == STEP_TASK:
                per_step.append((wall, rts, io_s))
            else:
                other.append((name, wall, rts))
        if profiler:
            profiler.disable()
        total = time.perf_counter() - started
        status = get_workflow_run(run_id).status
    finally:
        deleted = delete_keys(rt.redis, prefix)

    print(f"bench_sequential({args.steps}) in-process: status {status}, "
          f"{total:.2f}s, {total / args.steps * 1000:.2f} ms/step "
          f"(publish {'off' if args.no_publish else 'on'}, cache "
          f"{'emptied before every task' if args.cold else 'on'}; {deleted} keys deleted)")
    for name, wall, rts in other:
        print(f"  separate {name}: {wall * 1000:.2f} ms, {rts} Redis round trips")
    print("  step task = step + turn in place + publish of the next step, by history slice:")
    print(f"  {'steps':>13} {'median ms':>9} {'mean ms':>8} {'redis rt':>8} {'redis ms':>8} "
          f"{'other ms':>8}")
    size = max(1, len(per_step) // args.slices)
    for i in range(0, len(per_step), size):
        chunk = per_step[i:i + size]
        walls = [c[0] for c in chunk]
        mean_wall = statistics.fmean(walls) * 1000
        mean_io = statistics.fmean(c[2] for c in chunk) * 1000
        print(f"  {i + 1:>6}-{i + len(chunk):<6} {statistics.median(walls) * 1000:>9.2f} "
              f"{mean_wall:>8.2f} {statistics.fmean(c[1] for c in chunk):>8.1f} "
              f"{mean_io:>8.2f} {mean_wall - mean_io:>8.2f}")
    if args.sites and per_step:
        print(f"\n  Redis round trips per step task, by call site ({len(per_step)} step tasks):")
        for site, count in sites.most_common():
            print(f"  {count / len(per_step):6.2f}  {site}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        print("\ncProfile, by own time:\n" + _trim(out.getvalue()))
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        print("\ncProfile, by cumulative time:\n" + _trim(out.getvalue()))
    return 0


def _trim(text: str) -> str:
    """Drop pstats' preamble and shorten site-packages paths."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    keep = [re.sub(r"\S*site-packages/", "", line.replace(str(REPO) + "/", ""))
            for line in lines[start:]]
    return "\n".join(line for line in keep if line.strip())


if __name__ == "__main__":
    sys.exit(main())
