"""Redis memory per run: what a completed, a sleeping and a hook-waiting run hold.

Why key by key and not only ``used_memory``: the benchmark's Redis may be shared
(the test suite, other benchmarks), so a ``used_memory`` delta over N runs picks up
other writers' noise. What a run holds by itself is exact: every key named after the
run (its actor keys share the ``{run_id}`` hash tag; its step-start counters name
the attempt) is read with ``MEMORY USAGE``, and summed per kind of key. What a run
adds to shared structures (the lease and retention indexes, the timer shards) is the
growth of those keys over the batch, divided by the batch. ``used_memory``'s delta is
printed beside it as a cross-check.

Sizing: bytes per run of each kind times the runs kept (a finished run is kept for
its retention, 30 days by default) plus the sleeping and waiting runs at any moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: What a key is, from its name with the run id (and prefix) taken out.
_KINDS = (
    (":journal", "journal stream"),
    (":sealed", "sealed journal"),
    (":record", "record"),
    (":seen", "seen set"),
    (":meta", "meta"),
    ("starts", "step start counters"),
    (":outbox", "outbox"),
    (":inhand", "in hand"),
    (":taken", "taken"),
    (":mailbox", "mailbox"),
    (":values", "values"),
)


@dataclass
class MemoryRow:
    """One kind of run: bytes per run in its own keys (by kind), in shared keys, and
    the ``used_memory`` delta per run."""

    label: str
    runs: int
    own: float = 0.0
    keys: float = 0.0
    by_kind: dict[str, float] = field(default_factory=dict)
    shared: float = 0.0
    used_memory: float = 0.0

    @property
    def total(self) -> float:
        return self.own + self.shared

    def line(self) -> str:
        kinds = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(self.by_kind.items(),
                                                               key=lambda kv: -kv[1]))
        return (f"  {self.label:<24} {self.total:>7,.0f} B/run  ({self.own:,.0f} in "
                f"{self.keys:.1f} keys of its own: {kinds}; {self.shared:,.0f} in shared "
                f"indexes; used_memory {self.used_memory:,.0f})")


def _kind(key: str) -> str:
    for needle, name in _KINDS:
        if needle in key:
            return name
    return "other"


def _own_keys(client: Any, prefix: str, run_id: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}*{run_id}*", count=1000))


def _shared_keys(client: Any, prefix: str) -> list[bytes]:
    """Keys of the prefix that belong to no run: indexes, timer shards, leases."""
    return [k for k in client.scan_iter(match=f"{prefix}*", count=1000)
            if b"{run-" not in k and b"run-" not in k]


def _usage(client: Any, keys: list[bytes]) -> int:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(x or 0) for x in pipe.execute())


def measure(client: Any, prefix: str, label: str, count: int,
            start: Callable[[], str], ready: Callable[[str], bool],
            timeout: float = 300.0) -> MemoryRow:
    """Start ``count`` runs with ``start`` and wait until ``ready(run_id)`` holds for
    each (finished, sleeping, waiting on its hook); then read what they hold."""
    shared_before = _usage(client, _shared_keys(client, prefix))
    used_before = int(client.info("memory")["used_memory"])
    run_ids = [start() for _ in range(count)]
    deadline = time.monotonic() + timeout
    pending = list(run_ids)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} of {count} runs not ready ({label})")
        pending = [r for r in pending if not ready(r)]
        if pending:
            time.sleep(0.05)
    used_after = int(client.info("memory")["used_memory"])
    shared_after = _usage(client, _shared_keys(client, prefix))
    row = MemoryRow(label, count)
    by_kind: dict[str, int] = {}
    keys = 0
    for run_id in run_ids:
        own = _own_keys(client, prefix, run_id)
        keys += len(own)
        pipe = client.pipeline(transaction=False)
        for key in own:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(own, pipe.execute(), strict=True):
            kind = _kind(key.decode(errors="replace"))
            by_kind[kind] = by_kind.get(kind, 0) + int(size or 0)
    row.by_kind = {k: v / count for k, v in by_kind.items()}
    row.own = sum(by_kind.values()) / count
    row.keys = keys / count
    row.shared = max(0, shared_after - shared_before) / count
    row.used_memory = (used_after - used_before) / count
    return row
