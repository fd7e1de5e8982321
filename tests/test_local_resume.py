"""``--runtime local`` with a Redis: a run stopped by Ctrl-C or killed outright
continues with ``workflows run NAME --resume RUN_ID``, each completed step run once,
a step that was in flight run again; one process runs a local run at a time."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pyworkflow import keys
from pyworkflow.config import redis_client
from pyworkflow.local_journal import OWNER_TTL_S, LocalJournal, LocalRunError
from pyworkflow.local_runtime import LocalRuntime
from tests._workers import PYWORKFLOW, REPO
from tests.local_resume_workflows import sleeper

MODULE = "tests.local_resume_workflows"


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LR_MARKS": str(tmp_path / "marks"),
            "LR_RELEASE": str(tmp_path / "release")}


def _cli(*args: str) -> list[str]:
    return [PYWORKFLOW, "--runtime", "local", "-m", MODULE, "workflows", "run", *args]


def _marks(tmp_path: Path) -> list[str]:
    path = tmp_path / "marks"
    return path.read_text().split() if path.exists() else []


def _until(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _saved_event_types(run_id: str) -> list[str]:
    client = redis_client(os.environ["PYWORKFLOW_REDIS_URL"])
    raw = client.lrange(keys.local_run_events(os.environ["PYWORKFLOW_KEY_PREFIX"], run_id), 0, -1)
    return [json.loads(item)[1]["type"] for item in raw]


def _started(proc: subprocess.Popen[str]) -> str:
    """The run id from the 'Started ...' line (stderr)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"run (run-[0-9a-f]+) \(local\)", line)
        if found:
            return found.group(1)
    raise AssertionError("the command never said which run it started")


def test_a_run_stopped_by_ctrl_c_resumes_where_it_stopped(tmp_path: Path) -> None:
    env = _env(tmp_path)
    proc = subprocess.Popen(_cli("lr_resume_sleeper", "--arg", "label=a"), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = _started(proc)
    _until("the sleep to be saved", lambda: "sleep_started" in _saved_event_types(run_id))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"is saved; continue it with: pyworkflow --runtime local -m {MODULE} workflows run " \
           f"lr_resume_sleeper --resume {run_id}" in err
    assert _marks(tmp_path) == ["a-one"]

    done = subprocess.run(_cli("lr_resume_sleeper", "--resume", run_id), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "events already in its journal" in done.stderr
    assert 'Result: ["a-one", "a-two"]' in done.stdout
    assert "workflow_started" not in done.stdout  # earlier events are not told again
    assert "sleep_completed" in done.stdout
    assert _marks(tmp_path) == ["a-one", "a-two"]  # the first step did not run again
    assert _saved_event_types(run_id)[-1] == "workflow_completed"


def test_a_killed_run_waits_for_its_claim_to_lapse_and_reruns_the_step_in_flight(
        tmp_path: Path) -> None:
    env = _env(tmp_path)
    proc = subprocess.Popen(_cli("lr_resume_holder"), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = _started(proc)
    _until("the held step to start", lambda: "hold-started" in _marks(tmp_path))
    proc.kill()
    proc.wait(timeout=10)

    refused = subprocess.run(_cli("lr_resume_holder", "--resume", run_id), cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "is being run by another process" in refused.stderr
    assert "Traceback" not in refused.stderr

    (tmp_path / "release").touch()
    results: list[subprocess.CompletedProcess[str]] = []

    def resumed() -> bool:
        results.append(subprocess.run(_cli("lr_resume_holder", "--resume", run_id), cwd=REPO,
                                      env=env, capture_output=True, text=True, timeout=60))
        return results[-1].returncode == 0

    _until("the claim to lapse", resumed, seconds=OWNER_TTL_S + 30)
    assert 'Result: ["before", "held", "after"]' in results[-1].stdout
    assert _marks(tmp_path) == ["before", "hold-started", "hold-started", "after"]


def test_resume_is_refused_with_a_clear_line_where_it_cannot_apply(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cases = [
        (_cli("lr_resume_sleeper", "--resume", "run-0000"), env, "no local run run-0000 is saved"),
        ([PYWORKFLOW, "-m", MODULE, "workflows", "run", "lr_resume_sleeper", "--resume", "r"],
         env, "--resume continues a run of the local runtime"),
        (_cli("lr_resume_sleeper", "--resume", "r"),
         {**env, "PYWORKFLOW_REDIS_URL": "redis://127.0.0.1:9/0"},
         "--resume needs the Redis the run was saved in"),
    ]
    for args, case_env, expected in cases:
        proc = subprocess.run(args, cwd=REPO, env=case_env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode != 0 and expected in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def _journal() -> LocalJournal:
    url = os.environ["PYWORKFLOW_REDIS_URL"]
    return LocalJournal(redis_client(url), os.environ["PYWORKFLOW_KEY_PREFIX"], 3600, url)


def test_one_process_runs_a_local_run_at_a_time_and_a_saved_run_resumes_in_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    first = LocalRuntime(journal=_journal())
    handle = first.start(sleeper, "c")  # runs up to the sleep, saved
    with pytest.raises(LocalRunError, match="being run by another process"):
        LocalRuntime(journal=_journal()).resume(handle.run_id)
    with pytest.raises(LocalRunError, match="is a run of 'lr_resume_sleeper'"):
        first.close()
        LocalRuntime(journal=_journal()).resume(handle.run_id, workflow="other")
    with LocalRuntime(journal=_journal()) as second:
        assert second.resume(handle.run_id).result() == ["c-one", "c-two"]
    assert _marks(tmp_path) == ["c-one", "c-two"]
