"""The chaos command at CI scale on one Redis: ``python ops/chaos/run.py --small``
(what it does and checks: tests/worker/_chaos_small.py; the same on a Redis Cluster:
test_chaos_small_cluster.py)."""

from __future__ import annotations

import pytest

from tests.worker._chaos_small import run_small_and_check, server_binary

# run.py starts its own Redis and workers (so no fixture shows it)
pytestmark = [pytest.mark.workers, pytest.mark.slow]


@pytest.mark.skipif(server_binary() is None, reason="no redis-server/valkey-server binary")
def test_chaos_small_loses_nothing_on_one_redis() -> None:
    run_small_and_check("redis")
