"""How fast the dashboard's run list answers with 100,000 runs in Redis.

    python ops/bench/dashboard_list.py [--runs 100000] [--repeat 50]

Writes ``--runs`` run records and their runs-index entries straight into Redis under
a private key prefix (the fields a real run's record holds for the list: workflow,
status, times; five workflows, statuses mixed), then times ``GET /api/runs`` through
the real app (Starlette TestClient, in process): the first page, a page filtered by
status, by workflow, by text, and a page 50,000 runs deep from a cursor; and the
status tally behind the counts and ``/metrics``. Prints the median and p95 of each.
Deletes every key it wrote. Redis: ``PYWORKFLOW_REDIS_URL``, else 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PREFIX = f"pwbench-dash-{uuid.uuid4().hex[:6]}"
os.environ["PYWORKFLOW_KEY_PREFIX"] = PREFIX
os.environ.setdefault("PYWORKFLOW_REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("PYWORKFLOW_LOG_LEVEL", "WARNING")

from starlette.testclient import TestClient  # noqa: E402

from pyworkflow import keys  # noqa: E402
from pyworkflow.metrics.run_tally import make_tally  # noqa: E402
from pyworkflow.web import create_app  # noqa: E402
from pyworkflow.worker._runtime import runtime  # noqa: E402

STATUSES = ["completed"] * 90 + ["failed"] * 6 + ["running"] * 3 + ["parked"]


def fill(n: int) -> list[str]:
    rt = runtime()
    index = keys.runs_index(PREFIX)
    ids: list[str] = []
    base = time.time() - n
    for start in range(0, n, 5_000):
        pipe = rt.redis.pipeline(transaction=False)
        batch = {}
        for i in range(start, min(n, start + 5_000)):
            run_id = f"run-{uuid.uuid4().hex[:20]}"
            ids.append(run_id)
            created = base + i
            pipe.hset(rt.system.actor_keys(run_id).record, mapping={
                "workflow": f"bench_flow_{i % 5}", "status": STATUSES[i % len(STATUSES)],
                "created_at": created, "updated_at": created + 0.5,
                "finished_at": created + 0.5, "args": "[]", "kwargs": "{}"})
            batch[run_id] = created
        pipe.zadd(index, batch)
        pipe.execute()
    return ids


def timed(client: TestClient, url: str, repeat: int) -> tuple[float, float, int]:
    times = []
    found = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.text
        found = len(resp.json()["runs"])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    ns = parser.parse_args()
    rt = runtime()
    t0 = time.perf_counter()
    ids = fill(ns.runs)
    print(f"wrote {ns.runs:,} runs in {time.perf_counter() - t0:.1f}s (prefix {PREFIX})")
    try:
        client = TestClient(create_app())
        top = rt.redis.zrevrange(keys.runs_index(PREFIX), 0, 0, withscores=True)[0][1]
        cases = {
            "first page (50 newest)": "/api/runs?limit=50",
            "status=failed": "/api/runs?limit=50&status=failed",
            "status=parked (1 in 100)": "/api/runs?limit=50&status=parked",
            "workflow=bench_flow_3": "/api/runs?limit=50&workflow=bench_flow_3",
            "text (one run id)": f"/api/runs?limit=50&q={ids[len(ids) // 2][4:16]}",
            "50,000 deep (cursor)": f"/api/runs?limit=50&cursor={top!r}:50000",
        }
        print(f"{'GET /api/runs':<28} {'median ms':>10} {'p95 ms':>8} {'runs':>5}")
        for name, url in cases.items():
            med, p95, found = timed(client, url, ns.repeat)
            print(f"{name:<28} {med:>10.1f} {p95:>8.1f} {found:>5}")
        t0 = time.perf_counter()
        tally = make_tally()
        print(f"status tally (counts, /metrics): {time.perf_counter() - t0:.2f}s for "
              f"{tally.counted:,} runs (cached {5}s)")
    finally:
        for start in range(0, len(ids), 5_000):
            rt.redis.delete(*[rt.system.actor_keys(i).record for i in ids[start:start + 5_000]])
        rt.redis.delete(keys.runs_index(PREFIX))


if __name__ == "__main__":
    main()
