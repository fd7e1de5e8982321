"""The chaos command at CI scale, ``python ops/chaos/run.py --small``, run and checked
for the two chaos tests (``test_chaos_small.py`` on one Redis, ``test_chaos_small_cluster.py``
on a Redis Cluster: two files so that the parallel run gives them two processes).

30 runs (each with six steps, three sleeps and a child workflow) on 2 real workers
while 3 workers are killed (SIGKILL and SIGTERM), Redis restarts once and one worker is
cut off the network for 15 s (a partition; not on the cluster). The command starts and
cleans up its own Redis server and workers; it must pass every check (see
``ops/chaos/README.md``) and report nothing lost. Its checks are of what happened, not
of how fast (its deadline for every run to end is 180 s; it takes 30-50 s alone), so it
runs beside other tests.
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


def server_binary() -> str | None:
    from pyworkflow.worker._embedded_redis import find_server_binary

    return find_server_binary()


def run_small_and_check(journal: str) -> None:
    """``run.py --small`` (``--cluster`` when ``journal`` is "cluster"), and its report's
    every figure that says nothing was lost."""
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
