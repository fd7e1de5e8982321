"""What the two lease-under-load tests share (``test_lease_under_load.py``, many short
turns; ``test_lease_busy_turn.py``, one CPU-bound turn; two files so that the parallel run
gives them two processes): a worker of ``tests.busy_actors``, and the lease index entries
of their actors.

The benchmark, with no faults, logged "actor taken over after its lease expired". The
cause was a race between the lease keeper thread and the end of a turn (see
``actors.lease_keeper``), not a lapse: an idle actor was left in the lease index and
recovery took it over five seconds later. Both tests require that recovery never had
anything to take over.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests._workers import Worker, wait_for

MODULE = "tests.busy_actors"
TAKEN_OVER = "actor taken over after its lease expired"


@contextlib.contextmanager
def busy_worker(log_dir: Path, lease_ms: int | None = None) -> Iterator[Worker]:
    """A worker of ``tests.busy_actors`` (its turns' lease ``lease_ms``, else the default)."""
    import tests.busy_actors  # noqa: F401  (routes the behaviour in this process too)

    env = {"BUSY_LEASE_MS": str(lease_ms)} if lease_ms else {}
    w = Worker(MODULE, log_dir, f"lease-{uuid.uuid4().hex[:4]}", pool="prefork",
               concurrency=2, extra_env=env).start()
    try:
        yield w
    finally:
        w.stop()


def ours_left(rt) -> list[tuple[bytes, float]]:  # type: ignore[no-untyped-def]
    """These tests' actors (``busy-*``) still in the lease index. Other tests of the same
    session may leave runs there (a start turn queued for no worker holds a long lease)."""
    return [(m, score) for k in rt.system.keys.lease_indexes
            for m, score in rt.redis.zrange(k, 0, -1, withscores=True)
            if m.startswith(b"busy-")]


def wait_index_empty(rt, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Every turn has ended once no actor of ours is in the lease index; a failure says
    what is left."""
    try:
        wait_for(lambda: not ours_left(rt), timeout, 0.1, "the lease index to empty")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it still holds {ours_left(rt)[:10]}") from None
