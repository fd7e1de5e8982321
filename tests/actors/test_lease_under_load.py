"""Leases under plain load: many short turns leave no idle actor for recovery to take
over (why: tests/actors/_busy_worker.py; the CPU-bound turn: test_lease_busy_turn.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests._workers import Worker, wait_for
from tests.actors._busy_worker import TAKEN_OVER, busy_worker, wait_index_empty

ACTORS = 6000
#: The worker renews every 0.67 s instead of every 1.67 s, so the race, when present,
#: shows about five times per run rather than about once.
SHORT_LEASE_MS = 2000


def test_many_short_turns_leave_nothing_for_recovery_to_take_over(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    with busy_worker(log_dir, SHORT_LEASE_MS) as worker:
        _short_turns(rt, worker)


def _short_turns(rt, worker: Worker) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6]
    actors = [f"busy-{tag}-{i}" for i in range(ACTORS)]
    for i, actor_id in enumerate(actors):
        rt.system.send(actor_id, "tick", {"n": i})
    wait_for(lambda: all(rt.system.journal(a).last_seq() == 1 for a in actors[-50:]), 120,
             0.1, "the last turns")
    # Every turn has ended once the lease index is empty; a stale entry leaves it only
    # when recovery has taken its actor over (and that turn ended too).
    wait_index_empty(rt, 60)
    assert all(rt.system.journal(a).last_seq() == 1 for a in actors)
    takeovers = worker.log_text().count(TAKEN_OVER)
    assert takeovers == 0, f"{takeovers} idle actors taken over after {ACTORS} turns"
