"""Leases under plain load: a turn that keeps the CPU busy for longer than its lease
keeps it (the lease keeper thread gets the GIL to renew it meanwhile), and recovery has
nothing to take over (why: tests/actors/_busy_worker.py; many short turns:
test_lease_under_load.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests._workers import Worker, wait_for
from tests.actors._busy_worker import TAKEN_OVER, busy_worker, wait_index_empty


def test_a_cpu_busy_turn_longer_than_its_lease_keeps_it(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    with busy_worker(log_dir) as worker:
        _busy_turn(rt, worker)


def _busy_turn(rt, worker: Worker) -> None:  # type: ignore[no-untyped-def]
    actor_id = f"busy-{uuid.uuid4().hex[:6]}"
    seconds = rt.system.lease_ms / 1000 * 1.6  # 8 s: the lease is renewed about 5 times
    rt.system.send(actor_id, "spin", {"seconds": seconds})
    wait_for(lambda: rt.system.journal(actor_id).last_seq() >= 1, 60, 0.1, "the busy turn")
    wait_index_empty(rt, 30)
    events = rt.system.journal(actor_id).read()
    assert [e.type for e in events] == ["spun"]
    log = worker.log_text()
    assert TAKEN_OVER not in log
    assert "lease could not be renewed" not in log and "lease lost" not in log
