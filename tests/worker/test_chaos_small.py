"""The chaos command at CI scale: ``python ops/chaos/run.py --small``.

30 runs (each with six steps, three sleeps and a child workflow) on 2 real
workers while 3 workers are killed (SIGKILL and SIGTERM), Redis restarts once and
one worker is cut off the network for 15 s (a partition; not on the cluster).
The command starts and cleans up its own Redis server and workers; it must pass
every check (see ``ops/chaos/README.md``) and report nothing lost. It runs twice:
on one Redis, and with the journals on a three-master Redis Cluster (``--cluster``:
the "Redis restart" kills one master and starts it again; the broker is a plain
Redis).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "ops" / "chaos" / "run.py"

# run.py starts its own Redis and workers (so no fixture shows it) and kills workers and
# restarts Redis on a schedule: alone, so that schedule is not stretched by other tests.
pytestmark = [pytest.mark.workers, pytest.mark.slow, pytest.mark.serial]


def _server_binary() -> str | None:
    from pyworkflow.worker._embedded_redis import find_server_binary

    return find_server_binary()


@pytest.mark.skipif(_server_binary() is None, reason="no redis-server/valkey-server binary")
@pytest.mark.parametrize("journal", ["redis", "cluster"])
def test_chaos_small_loses_nothing(journal: str) -> None:
    # The session's autouse fixture points PYWORKFLOW_* at the test Redis; the chaos
    # run must use only its own server, so none of it is passed on (run.py also drops
    # any PYWORKFLOW_* it inherits).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWORKFLOW_")}
    if journal == "cluster" and shutil.which("redis-cli") is None:
        pytest.skip("a local cluster needs redis-cli")
    extra = ["--cluster"] if journal == "cluster" else []  # a master killed, restarted
    proc = subprocess.run([sys.executable, str(RUN), "--small", *extra], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    assert "RESULT: PASS" in out, out[-8000:]
    assert re.search(r"^lost\s+0$", out, re.MULTILINE), out[-8000:]
    assert re.search(r"^duplicates\s+0$", out, re.MULTILINE), out[-8000:]
    assert re.search(r"^out of sequence\s+0$", out, re.MULTILINE), out[-8000:]
    assert re.search(r"^runs\s+30 started, 30 completed", out, re.MULTILINE), out[-8000:]
    assert re.search(r"^worker kills\s+3 \(SIGKILL 2, SIGTERM 1\)", out, re.MULTILINE), \
        out[-8000:]
    assert re.search(r"^Redis restarts\s+1 ", out, re.MULTILINE), out[-8000:]
    # One 15 s partition on one Redis (none on a cluster; skipped, not failed, where
    # unshare -rn is not available)
    partitions = r"1 \(15s each" if journal == "redis" else r"0$"
    assert re.search(rf"^partitions\s+({partitions}|0 \(skipped: )", out, re.MULTILINE), \
        out[-8000:]
