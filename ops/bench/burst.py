"""Work in progress before new work (issue 26, item 7): a burst of starts must not delay
the wake-ups of runs already running.

    python ops/bench/burst.py                       # 10,000 runs sleeping 5 s (~2-4 min)
    python ops/bench/burst.py --runs 2000 --sleep 2 --workers 2 --concurrency 2

Starts ``--runs`` runs of ``bench_sleep_then_step(--sleep)`` back to back from one
client (as a backfill or a schedule fanning out would), on ``--workers`` real workers,
and reports each run's lateness: when the step after its sleep ran, minus when the
sleep was due. With 5 s sleeps the first runs wake while later ones are still being
started; before work in progress went first, their wake-ups queued behind the start
turns (p50 27 s, p99 59 s in the issue's measurement). The goal: p99 <= 1 s.

A benchmark, not a test in the suite: 10,000 runs keep two cores busy for minutes, and
a latency figure measured beside the suite's other processes says more about them than
about the ordering (MEASURED.md: 2x noise on a shared machine). The ordering itself is
checked by the suite (``tests/routing``: broker levels, and a priority run's step ahead
of a 2,000-step backlog on real workers).

Prints one line of figures; exits 1 if any run failed or did not finish in time.
Deletes every key under its private prefix at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--sleep", type=float, default=5.0, help="each run's sleep (5 s)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    p.add_argument("--concurrency", type=int, default=2, help="pool size per worker (2)")
    p.add_argument("--timeout", type=float, default=900.0, help="give up after (900 s)")
    args = p.parse_args(argv)
    prefix = f"burst-{uuid.uuid4().hex[:10]}"
    os.environ["PYWORKFLOW_KEY_PREFIX"] = prefix
    os.environ.setdefault("PYWORKFLOW_LOG_FORMAT", "json")
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))

    from ops.bench import bench_workflows as bw
    from ops.bench.run import BenchError, Workers, delete_keys, log, pct
    from pyworkflow import start
    from pyworkflow.run_info import run_info_from_record
    from pyworkflow.worker import _runtime

    rt = _runtime.runtime()
    log_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-logs-"))
    workers = Workers(args.workers, args.concurrency, "prefork", "INFO", log_dir,
                      {**os.environ, "PYWORKFLOW_KEY_PREFIX": prefix})
    try:
        workers.start()
        workers.wait_ready(timeout=60)
        log(f"{args.workers} worker(s) ready; starting {args.runs} runs sleeping "
            f"{args.sleep:g} s, back to back")
        t0 = time.perf_counter()
        run_ids = [start(bw.bench_sleep_then_step, args.sleep) for _ in range(args.runs)]
        start_s = time.perf_counter() - t0
        log(f"started in {start_s:.1f} s; waiting for every run")
        records = _wait_completed(rt, run_ids, args.timeout, workers)
        lateness = [float(run_info_from_record(rid, rec).result)
                    for rid, rec in records.items()]
        print(f"burst: {args.runs} runs sleeping {args.sleep:g} s on {args.workers} worker(s) "
              f"x {args.concurrency}: started in {start_s:.1f} s; wake lateness "
              f"p50 {pct(lateness, 0.5) * 1000:.0f} ms, p99 {pct(lateness, 0.99) * 1000:.0f} "
              f"ms, max {max(lateness) * 1000:.0f} ms (goal: p99 <= 1000 ms)", flush=True)
        return 0
    except BenchError as exc:
        log(f"failed: {exc}; worker logs kept in {log_dir}")
        return 1
    finally:
        workers.stop()
        delete_keys(rt.redis, prefix)


def _wait_completed(rt: Any, run_ids: list[str], timeout: float,
                    workers: Any) -> dict[str, dict[bytes, bytes]]:
    """Every run's record once all are ``completed`` (polled, less often the more runs:
    a poll reads every pending record, load the workers need)."""
    from ops.bench.run import BenchError

    pending, done = set(run_ids), {}
    deadline = time.monotonic() + timeout
    while pending:
        chunk = sorted(pending)
        for i in range(0, len(chunk), 1000):
            part = chunk[i:i + 1000]
            pipe = rt.redis.pipeline(transaction=False)
            for rid in part:
                pipe.hgetall(rt.system.actor_keys(rid).record)
            for rid, rec in zip(part, pipe.execute(), strict=True):
                status = (rec.get(b"status") or b"pending").decode()
                if status == "completed":
                    done[rid] = rec
                    pending.discard(rid)
                elif status in ("failed", "cancelled", "parked"):
                    raise BenchError(f"run {rid} ended {status}")
        if pending:
            if time.monotonic() > deadline:
                workers.check_alive()
                raise BenchError(f"{len(pending)} of {len(run_ids)} runs unfinished after "
                                 f"{timeout:.0f}s")
            time.sleep(max(0.25, len(run_ids) / 2000))
    return done


if __name__ == "__main__":
    sys.exit(main())
