"""How many runs are in each status, per workflow: the dashboard's counts and the
runs gauge of ``/metrics``.

Counted from the runs' records, not kept as counters: the records are the one place
a run's status lives (kept in step with the journal by each turn's commit), so a
count made from them cannot drift, whichever worker process moved the run. The
cost is a walk of the runs index reading two fields per run (pipelined, about
0.7 s per 100,000 runs, ops/bench/dashboard_list.py), so a tally is cached for
:data:`TTL_S` seconds and made at most once at a time, and it counts at most
:data:`CAP` runs, newest first (``truncated`` says when there were more).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .. import keys
from ..worker._runtime import runtime

__all__ = ["CAP", "TTL_S", "Tally", "current_tally"]

CAP = 200_000
TTL_S = 5.0
CHUNK = 2_000


@dataclass
class Tally:
    #: ``(workflow, status) -> runs``
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    indexed: int = 0
    counted: int = 0
    took_s: float = 0.0
    made_at: float = 0.0

    @property
    def truncated(self) -> bool:
        return self.counted < self.indexed

    def by_status(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (_, status), n in self.counts.items():
            out[status] += n
        return dict(out)

    def workflows(self) -> list[str]:
        return sorted({wf for wf, _ in self.counts})


def make_tally(cap: int = CAP) -> Tally:
    rt = runtime()
    index = keys.runs_index(rt.settings.key_prefix)
    started = time.monotonic()
    tally = Tally(indexed=rt.redis.zcard(index))
    offset = 0
    while offset < min(cap, tally.indexed):
        ids = rt.redis.zrevrange(index, offset, min(offset + CHUNK, cap) - 1)
        if not ids:
            break
        pipe = rt.redis.pipeline(transaction=False)
        for raw in ids:
            pipe.hmget(rt.system.actor_keys(raw.decode()).record, ("workflow", "status"))
        for workflow, status in pipe.execute():
            if workflow is None and status is None:
                continue
            tally.counts[((workflow or b"?").decode(), (status or b"pending").decode())] += 1
        offset += len(ids)
        tally.counted = offset
    tally.took_s = time.monotonic() - started
    tally.made_at = time.time()
    return tally


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tally: Tally | None = None
        self.key: str | None = None

    def get(self, max_age: float) -> Tally:
        prefix = runtime().settings.key_prefix
        with self.lock:  # one tally at a time; callers meanwhile wait for its result
            fresh = self.tally is not None and self.key == prefix and \
                time.time() - self.tally.made_at < max_age
            if not fresh:
                self.tally, self.key = make_tally(), prefix
            assert self.tally is not None
            return self.tally


_cache = _Cache()


def current_tally(max_age: float = TTL_S) -> Tally:
    """A tally at most ``max_age`` seconds old (shared by every caller in the process)."""
    return _cache.get(max_age)
