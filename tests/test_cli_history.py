"""``runs status`` and ``runs logs`` read like a history (issue 28, item 3): ISO 8601 UTC
times, call ids, each event type's own fields, a failed step's traceback under its line,
nothing cut when stdout is not a terminal, and a failed run's root cause in ``status``.

A real worker runs ``hist_failing`` (tests/history_workflows.py): two parallel steps,
then a step that fails all three attempts. The CLI is run as a real process, its stdout
a pipe (not a TTY), as a script or ``| less`` would run it.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow.event_text import EventReader, iso_utc, local_label, own_frames
from tests._workers import PYWORKFLOW, REPO, worker_pool
from tests.history_workflows import REFUSAL

MODULE = "tests.history_workflows"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture(scope="module")
def failed_run(rt: Any, log_dir: Path) -> Iterator[str]:
    """The id of a finished ``hist_failing`` run (failed in its retried step)."""
    with worker_pool(MODULE, log_dir, "hist", count=1, pool="prefork", concurrency=2):
        run_id = pyworkflow.start("hist_failing", amount=12.5)
        assert pyworkflow.wait_for_run(run_id, 60).status == "failed"
        yield run_id


def cli(*args: str) -> str:
    """The CLI's stdout, run as a process whose stdout is a pipe."""
    done = subprocess.run([PYWORKFLOW, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_logs_show_iso_times_call_ids_durations_and_the_traceback_under_the_step(
        failed_run: str) -> None:
    text = cli("runs", "logs", failed_run)
    lines = text.splitlines()
    event_lines = [ln for ln in lines if re.match(r"\s*\d+  ", ln)]
    assert len(event_lines) == 12, text
    for line in event_lines:
        assert re.match(rf"\s*\d+  {ISO}  \w+", line), line
    scheduled = [ln for ln in event_lines if "step_scheduled" in ln and "hist_fetch" in ln]
    assert [re.search(r"#(\d+)", ln)[1] for ln in scheduled] == ["1", "2"]  # type: ignore[index]
    assert '("a")' in scheduled[0] and '("b")' in scheduled[1]
    failed = [i for i, ln in enumerate(lines) if "step_failed" in ln]
    first = lines[failed[0]]
    assert "#3" in first and "hist_charge" in first and "attempt 1/3" in first
    assert re.search(r"took \d+(\.\d+)?m?s", first), first
    assert "ValueError: card declined for 12.5" in first
    assert re.search(rf"\(retry at {ISO}\)", first), first
    # The step's own traceback, indented under its line, whole (not one cut line).
    under = lines[failed[0] + 1: failed[0] + 30]
    assert under[0] == "       Traceback (most recent call last):"
    assert any("in _charge_card" in ln for ln in under)
    assert any(ln.strip() == 'raise ValueError(f"card declined for {amount}: {REFUSAL}")'
               for ln in under)
    assert under[1].strip() == "(5 frames of the worker calling the step left out)"
    assert "step_task.py" not in text  # the worker's frames, the same in every failure
    assert lines[failed[1] + 1].strip() == "(traceback as at seq 7)"
    assert "(no more retries)" in lines[failed[2]]
    assert "\\n" not in text and "null" not in text and "17967" not in text


def test_logs_are_not_cut_when_stdout_is_not_a_terminal(failed_run: str) -> None:
    text = cli("runs", "logs", failed_run, "-t", "step_failed")
    line = text.splitlines()[0]
    assert len(line) > 160, line
    assert f"ValueError: card declined for 12.5: {REFUSAL}  (retry at " in line
    assert re.search(rf"\(retry at {ISO}\)$", line), line
    assert "…" not in text
    assert cli("runs", "logs", failed_run, "--wide", "-t", "step_failed") == text


def test_status_of_a_failed_run_shows_root_cause_and_attempts(failed_run: str) -> None:
    text = cli("runs", "status", failed_run)
    info = pyworkflow.get_workflow_run(failed_run)
    assert info.finished_at is not None and info.created_at is not None
    assert f"Finished:       {iso_utc(info.finished_at)} ({local_label(info.finished_at)})" \
        in text
    assert f"Created:        {iso_utc(info.created_at)} (" in text
    assert str(int(info.finished_at)) not in text  # no raw epoch
    assert "null" not in text and '"run-' not in text
    cause = text[text.index("Root cause:"):]
    assert cause.splitlines()[0].endswith(
        f"step hist_charge (#3), attempt 3: ValueError: card declined for 12.5: {REFUSAL}")
    assert "in _charge_card" in cause  # the step's own frames, not only the workflow's
    attempts = text[text.index("Step attempts:"):].splitlines()
    assert re.search(rf"#3 hist_charge\s+1/3\s+{ISO}\s+\S+\s+failed: ValueError", attempts[2])
    assert re.search(rf"^\s+3/3\s+{ISO}\s+\S+\s+failed: ValueError", attempts[4])
    assert re.search(rf"#1 hist_fetch\s+1/4\s+{ISO}\s+\S+\s+completed", attempts[0])


def test_json_output_keeps_its_shape(failed_run: str) -> None:
    status = json.loads(cli("-o", "json", "runs", "status", failed_run))
    assert isinstance(status["finished_at"], float) and status["status"] == "failed"
    logs = json.loads(cli("-o", "json", "runs", "logs", failed_run))
    assert set(logs[0]) == {"seq", "type", "timestamp", "data"}
    assert any(e["type"] == "step_failed" and "_charge_card" in e["data"]["traceback"]
               for e in logs)


def test_list_times_are_iso_utc(failed_run: str) -> None:
    text = cli("runs", "list", "-w", "hist_failing", "-n", "1")
    header, row = text.splitlines()[:2]
    assert "CREATED (UTC)" in header
    assert re.search(rf"{failed_run}\s+hist_failing\s+failed\s+{ISO}\s+{ISO}$", row), row


def test_event_fields_per_type() -> None:
    """Child, hook, cancel and signal events show their fields, not raw JSON."""
    reader = EventReader()
    shown = {kind: reader.read({"seq": 1, "type": kind, "timestamp": 1.5, "data": data})
             for kind, data in [
                 ("child_started", {"call_id": 4, "workflow": "ship", "child_run_id": "run-c1",
                                    "args": [], "kwargs": {}, "wait": True}),
                 ("hook_created", {"call_id": 5, "name": "approval", "token": "tok-1"}),
                 ("cancel_requested", {"reason": "customer asked", "force": False}),
                 ("signal_received", {"name": "go", "payload": {"n": 1}}),
             ]}
    assert shown["child_started"].detail() == "child run-c1  workflow ship"
    assert shown["child_started"].call_id == 4
    assert shown["hook_created"].detail() == "hook approval  token tok-1"
    assert shown["cancel_requested"].detail() == "reason: customer asked"
    assert shown["signal_received"].detail() == 'signal go  <- {"n": 1}'
    assert shown["signal_received"].when == "1970-01-01T00:00:01.500Z"


def test_own_frames_leaves_out_only_the_callers_frames() -> None:
    worker = '  File "/x/pyworkflow/worker/step_task.py", line 1, in run_step\n    call()\n'
    mine = '  File "/app/steps.py", line 9, in charge\n    raise E()\n'
    head = "Traceback (most recent call last):\n"
    chained = (f"{head}{worker}{mine}E: inner\n\nThe above exception was the direct cause "
               f"of the following exception:\n\n{head}{worker}{worker}{mine}F: outer")
    assert own_frames(chained).splitlines() == [
        "Traceback (most recent call last):",
        "  (1 frames of the worker calling the step left out)",
        '  File "/app/steps.py", line 9, in charge', "    raise E()", "E: inner", "",
        "The above exception was the direct cause of the following exception:", "",
        "Traceback (most recent call last):",
        "  (2 frames of the worker calling the step left out)",
        '  File "/app/steps.py", line 9, in charge', "    raise E()", "F: outer"]
    only_worker = f"{head}{worker}LookupError: step 'x' is not registered"
    assert own_frames(only_worker) == only_worker  # nothing of its own: kept whole


def on_a_terminal(*args: str, columns: int = 100) -> str:
    """The CLI's stdout when it is a terminal ``columns`` wide (a pseudo-terminal)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run([PYWORKFLOW, *args], cwd=REPO, stdout=follower,
                          stderr=subprocess.PIPE, text=True, timeout=60, env=env, check=False)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 0, done.stderr
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_logs_are_cut_to_a_terminal_unless_wide(failed_run: str) -> None:
    cut = on_a_terminal("runs", "logs", failed_run, "-t", "step_failed").splitlines()
    assert len(cut[0]) == 100 and cut[0].endswith("…"), cut[0]
    whole = on_a_terminal("runs", "logs", failed_run, "-t", "step_failed", "--wide")
    assert whole.splitlines()[0] == cli("runs", "logs", failed_run, "-t",
                                        "step_failed").splitlines()[0]
