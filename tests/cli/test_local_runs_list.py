"""``runs list|status|logs --local``: a ``--runtime local`` run saved in Redis is listed
and shown (read only) like a worker run; an unknown or forged id is one line, exit 1;
the ``--runtime`` help says where a local run's journal is kept."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from pyworkflow import keys
from pyworkflow.config import redis_client
from tests._workers import PYWORKFLOW, REPO

MODULE = "tests.local_resume_workflows"

pytestmark = pytest.mark.redis


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYWORKFLOW, *args], cwd=REPO, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=60)


def _local_run(tmp_path: Path) -> str:
    """Run ``lr_resume_holder`` to completion locally (its hold released beforehand)."""
    (tmp_path / "release").touch()
    env = {**os.environ, "LR_MARKS": str(tmp_path / "marks"),
           "LR_RELEASE": str(tmp_path / "release")}
    done = _run("--runtime", "local", "-m", MODULE, "workflows", "run", "lr_resume_holder",
                env=env)
    assert done.returncode == 0, done.stderr
    found = re.search(r"run (run-[0-9a-f]+) \(local\)", done.stderr)
    assert found, done.stderr
    return found.group(1)


def test_a_saved_local_run_is_listed_and_shown(tmp_path: Path) -> None:
    run_id = _local_run(tmp_path)

    listed = _run("runs", "list", "--local")
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if run_id in ln)
    assert "lr_resume_holder" in line and "completed" in line
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line), line

    as_json = _run("-o", "json", "runs", "list", "--local", "--limit", "1")
    assert as_json.returncode == 0, as_json.stderr
    [first] = json.loads(as_json.stdout)
    assert first["run_id"] == run_id and first["status"] == "completed"

    shown = _run("runs", "status", run_id, "--local")
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"Status:\s+completed", shown.stdout), shown.stdout
    assert "held" in shown.stdout  # the result

    logs = _run("runs", "logs", run_id, "--local")
    assert logs.returncode == 0, logs.stderr
    assert "workflow_completed" in logs.stdout and "step_completed" in logs.stdout


def test_showing_a_run_takes_no_owner_mark_and_saves_nothing(tmp_path: Path) -> None:
    run_id = _local_run(tmp_path)
    prefix = os.environ["PYWORKFLOW_KEY_PREFIX"]
    client = redis_client(os.environ["PYWORKFLOW_REDIS_URL"])
    before = client.get(keys.local_run_state(prefix, run_id))
    assert _run("runs", "status", run_id, "--local").returncode == 0
    assert client.get(keys.local_run_owner(prefix, run_id)) is None
    assert client.get(keys.local_run_state(prefix, run_id)) == before


@pytest.mark.parametrize("run_id", ["run-0000000000000000dead", "run-x}:{index}:runs"])
def test_an_unknown_or_forged_id_is_one_line_and_exit_1(run_id: str) -> None:
    done = _run("runs", "status", run_id, "--local")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""


def test_the_runtime_help_says_the_journal_is_saved_in_redis() -> None:
    done = _run("--help")
    text = " ".join(done.stdout.split())
    assert "saved in Redis when one answers" in text
    assert "journal in memory" not in text
