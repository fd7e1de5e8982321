"""Where a timer wake-up's time goes, without Celery in the way.

    python ops/bench/profile_wakes.py [--runs 200] [--sites] [--profile] [--no-publish]

Starts ``--runs`` runs of ``bench_sleep_then_step`` (a durable sleep, then one step)
entirely in this process against the real Redis, runs their start turns, waits until
their timers are due, and then does what a worker does to wake them: the maintenance
pass that delivers the due timers (``deliver_due_timers``, timed as one batch) and
every task that delivery enqueued (the wake turn, with its step run in place), each
timed and its Redis round trips counted. The wake is what the timers target of
``run.py`` waits on: with 2 pool processes, a wake costing ``w`` ms of task time
serves ``2000 / w`` wakes per second. Deletes its keys at the end.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Profile timer wake-ups in-process.")
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--sleep", type=float, default=1.0, help="seconds each run sleeps")
    p.add_argument("--sites", action="store_true",
                   help="count the wake tasks' Redis round trips by call site")
    p.add_argument("--profile", action="store_true", help="cProfile the wake tasks")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--cold", action="store_true",
                   help="empty the state cache before the wakes (every wake replays its run, "
                        "as when many more runs sleep than a process caches)")
    p.add_argument("--no-publish", action="store_true",
                   help="do not publish the Celery tasks (pure task cost)")
    args = p.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script
    from ops.bench._in_process import profiled_runtime

    rt, queue, prefix = profiled_runtime("wake", publish=not args.no_publish)

    from actors.recovery import deliver_due_timers
    from ops.bench import _iotrace
    from ops.bench import bench_workflows as bw
    from ops.bench.run import delete_keys
    from pyworkflow import get_workflow_run, start

    system = rt.system

    def drain(record: list[tuple[str, float, int, float]] | None) -> None:
        while queue:
            name, task_args, kwargs = queue.popleft()
            _iotrace.current.open()
            rt.celery.tasks[name].run(*task_args, **kwargs)
            rts, io_s, wall = _iotrace.current.close()
            if record is not None:
                record.append((name, wall, rts, io_s))

    sites: collections.Counter[str] = collections.Counter()
    profiler = cProfile.Profile() if args.profile else None
    wakes: list[tuple[str, float, int, float]] = []
    delivery: list[tuple[int, float, int]] = []
    try:
        run_ids = [start(bw.bench_sleep_then_step, args.sleep) for _ in range(args.runs)]
        starts: list[tuple[str, float, int, float]] = []
        drain(starts)
        left = args.runs
        if args.cold:
            for run_id in run_ids:
                system.cache.evict(run_id)
        deadline = time.monotonic() + args.sleep + 30
        while left and time.monotonic() < deadline:
            _iotrace.current.open()
            _iotrace.current.sites = sites if args.sites else None
            if profiler:
                profiler.enable()
            delivered, _, _ = deliver_due_timers(system)
            rts, _, wall = _iotrace.current.close()
            if delivered:
                delivery.append((delivered, wall, rts))
                left -= delivered
            drain(wakes)
            if profiler:
                profiler.disable()
            _iotrace.current.sites = None
            if not delivered:
                time.sleep(0.01)
        statuses = collections.Counter(get_workflow_run(r).status for r in run_ids)
    finally:
        deleted = delete_keys(rt.redis, prefix)

    def table(title: str, rows: list[tuple[str, float, int, float]]) -> None:
        by_name: dict[str, list[tuple[float, int, float]]] = collections.defaultdict(list)
        for name, wall, rts, io_s in rows:
            by_name[name].append((wall, rts, io_s))
        for name, got in by_name.items():
            median = statistics.median(g[0] for g in got) * 1000
            print(f"  {title} {name}: {len(got)} tasks, median {median:.2f} ms, "
                  f"mean {statistics.fmean(g[0] for g in got) * 1000:.2f} ms, "
                  f"{statistics.fmean(g[1] for g in got):.1f} Redis round trips "
                  f"({statistics.fmean(g[2] for g in got) * 1000:.2f} ms waiting)")

    print(f"{args.runs} runs sleeping {args.sleep}s, in-process: {dict(statuses)} "
          f"(publish {'off' if args.no_publish else 'on'}; {deleted} keys deleted)")
    print(f"  state cache: {system.cache.hits} hits, {system.cache.misses} misses")
    table("start", starts)
    timers = sum(d[0] for d in delivery)
    if timers:
        print(f"  delivery: {timers} timers in {len(delivery)} passes, "
              f"{sum(d[1] for d in delivery) / timers * 1000:.2f} ms and "
              f"{sum(d[2] for d in delivery) / timers:.2f} round trips per timer")
    table("wake", wakes)
    if args.sites and timers:
        print("\n  Redis round trips per wake (delivery + tasks), by call site:")
        for site, count in sites.most_common():
            print(f"  {count / timers:6.2f}  {site}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print("\ncProfile of delivery + wake tasks, by own time:\n" + out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
            "/main/(actors|pyworkflow)/", args.top)
        print("\nby cumulative time, this project's functions:\n" + out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
