"""A password with ``/ @ : # ?`` never reaches the CLI's output or a worker's log.

Real processes on the error paths: a bad port, a server that is down, a worker
that cannot reach its broker. The secret's pieces are distinct, so a password
split by a URL parser into "host", "port" and "path" would be caught in part.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests._secrets import ENCODED, SECRET, shows_secret
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for

DEAD_PORT = "127.0.0.1:1"  # nothing listens there: every connection is refused


def run_cli(env_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYWORKFLOW_REDIS_URL": env_url, "PYWORKFLOW_LOG_FORMAT": "json"}
    return subprocess.run([PYWORKFLOW, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("url", [
    f"redis://:{SECRET}@127.0.0.1:6379/0",
    f"redis://app:{SECRET}@{DEAD_PORT}/0",
    f"redis://:{ENCODED}@{DEAD_PORT}/0",
    f"redis://{DEAD_PORT}/0?password={ENCODED}",
    f"redis://:{SECRET}@127.0.0.1:63x9/0",
    f"127.0.0.1:{SECRET}",
    f"redis+sentinel://:{SECRET}@{DEAD_PORT}/mymaster/0",
    f"redis+sentinel://app:{ENCODED}@{DEAD_PORT},127.0.0.1:2/mymaster?sentinel_password={ENCODED}",
    f"redis+sentinel://:{SECRET}@{DEAD_PORT}/mymaster/x",
])
def test_setup_check_never_prints_the_password(url: str) -> None:
    done = run_cli(url, "setup", "--check")
    output = done.stdout + done.stderr
    assert "Redis" in output or "PYWORKFLOW_REDIS_URL" in output, output
    assert shows_secret(output) == [], output
    described = run_cli(url, "setup")
    assert shows_secret(described.stdout + described.stderr) == []


@pytest.mark.parametrize("url", [
    f"redis://:{SECRET}@{DEAD_PORT}/0",
    f"redis+sentinel://:{SECRET}@{DEAD_PORT}/mymaster/0?sentinel_password={ENCODED}",
])
def test_a_worker_that_cannot_connect_never_logs_the_password(url: str, tmp_path: Path) -> None:
    worker = Worker("tests.toy_and_examples", tmp_path, "secret", concurrency=1,
                    extra_env={"PYWORKFLOW_REDIS_URL": url})
    worker.start(wait=False)
    try:
        wait_for(lambda: not worker.alive() or "Cannot connect" in worker.log_text()
                 or "Error" in worker.log_text(), 60, 0.2, "the worker to report its error")
    finally:
        worker.stop()
    log = worker.log_text()
    assert "127.0.0.1" in log  # it did say where it failed to connect
    assert shows_secret(log) == [], log[-3000:]
