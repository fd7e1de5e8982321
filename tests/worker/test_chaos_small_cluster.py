"""The chaos command at CI scale with the journals on a three-master Redis Cluster:
``python ops/chaos/run.py --small --cluster`` (the "Redis restart" kills one master and
starts it again; the broker is a plain Redis). What it does and checks:
tests/worker/_chaos_small.py."""

from __future__ import annotations

import pytest

from tests.worker._chaos_small import run_small_and_check, server_binary

# run.py starts its own Redis servers and workers (so no fixture shows it)
pytestmark = [pytest.mark.workers, pytest.mark.slow]


@pytest.mark.skipif(server_binary() is None, reason="no redis-server/valkey-server binary")
def test_chaos_small_loses_nothing_on_a_cluster() -> None:
    run_small_and_check("cluster")
