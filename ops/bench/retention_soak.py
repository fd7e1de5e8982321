"""Retention soak: many short runs, and Redis memory stays flat.

    python ops/bench/retention_soak.py [--runs 10000] [--wave 1000]

Starts ``--runs`` runs of a workflow kept 1 s after it ends, in waves, on two real
workers (prefork, concurrency 2) against the Redis the project resolves (with a key
prefix of its own), and after each wave prints Redis ``used_memory`` and how many
runs still have a record. Memory should stay flat: each wave's runs are purged by
the workers' maintenance loops within seconds. The prefix's keys are deleted at the
end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Workers, log  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--wave", type=int, default=1_000)
    args = parser.parse_args()
    prefix = f"soak-{uuid.uuid4().hex[:6]}"
    os.environ["PYWORKFLOW_KEY_PREFIX"] = prefix
    os.environ.setdefault("PYWORKFLOW_LOG_FORMAT", "json")
    import pyworkflow
    from ops.bench import bench_workflows  # noqa: F401  (registers the workflow)
    from pyworkflow.worker import _runtime

    rt = _runtime.runtime()
    env = {**os.environ}
    if rt.settings.embedded:
        env["PYWORKFLOW_REDIS_URL"] = rt.settings.redis_url
    workers = Workers(2, 2, "prefork", "INFO", Path(tempfile.mkdtemp(prefix="soak-")), env)
    workers.start()
    try:
        workers.wait_ready(60)
        baseline = rt.redis.info("memory")["used_memory"]
        log(f"baseline used_memory {baseline / 1e6:.2f} MB")
        started = 0
        while started < args.runs:
            wave = [pyworkflow.start("bench_short_lived", i)
                    for i in range(started, min(args.runs, started + args.wave))]
            started += len(wave)
            # Each run ends, then is purged a second later: wait until none is left (or
            # give up after two minutes and report what is left).
            deadline = time.monotonic() + 120
            pending = list(wave)
            while pending and time.monotonic() < deadline:
                pipe = rt.redis.pipeline(transaction=False)
                for run_id in pending:
                    pipe.exists(rt.system.actor_keys(run_id).record)
                pending = [r for r, left in zip(pending, pipe.execute(), strict=True) if left]
                if pending:
                    time.sleep(0.5)
            used = rt.redis.info("memory")["used_memory"]
            left = sum(1 for _ in rt.redis.scan_iter(match=f"{prefix}:*:record", count=1000))
            log(f"{started:>6} runs: used_memory {used / 1e6:.2f} MB "
                f"({(used - baseline) / 1e6:+.2f} MB), records left {left}")
    finally:
        for proc in workers.procs:
            proc.terminate()
        for proc in workers.procs:
            proc.wait(30)
        batch = list(rt.redis.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(batch), 500):
            rt.redis.delete(*batch[i:i + 500])


if __name__ == "__main__":
    main()
