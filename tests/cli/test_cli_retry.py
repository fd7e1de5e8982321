"""``pyworkflow runs retry``: what it prints, what it waits for, and its exit codes.

The client functions are replaced with fakes (as ``test_cli_hooks`` does for
``runs cancel``): a fake run handles the retry when told to, so what is checked is
exactly what the CLI does with each outcome. Only the unknown-run case reads the
session's real Redis.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pyworkflow import client
from pyworkflow.cli import run_control as _run_control  # noqa: F401  (registers cancel, retry)
from pyworkflow.cli import runs as _runs  # noqa: F401  (registers the commands)
from pyworkflow.cli._root import cli
from pyworkflow.errors import RunNotFoundError


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


class FakeRun:
    """One run that takes a retry like the engine does: after ``handled_after`` polls
    of its journal it records ``run_retried`` (or ``workflow_resumed``) and later ends
    ``ends``; ``ends=None`` never ends (``wait_for_run`` times out)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, status: str, *,
                 ends: str | None = "completed", handled_after: int | None = 0) -> None:
        self.info = client.RunInfo("run-r", "wf", status, created_at=1.0, updated_at=2.0)
        self.events: list[dict[str, Any]] = [
            {"seq": 1, "type": "workflow_started", "timestamp": 1.0, "data": {}},
            {"seq": 2, "type": "workflow_failed" if status == "failed" else "workflow_parked",
             "timestamp": 2.0, "data": {}},
        ]
        self.ends, self.handled_after = ends, handled_after
        self.retries = 0
        self.polls = 0
        monkeypatch.setattr(client, "get_workflow_run", self.get)
        monkeypatch.setattr(client, "get_workflow_events", self.get_events)
        monkeypatch.setattr(client, "retry_run", self.retry)
        monkeypatch.setattr(client, "wait_for_run", self.wait)

    def get(self, run_id: str) -> client.RunInfo:
        if run_id != self.info.run_id:
            raise RunNotFoundError(run_id)
        return self.info

    def get_events(self, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
        self.get(run_id)
        if self.retries and self.handled_after is not None:
            self.polls += 1
            if self.polls > self.handled_after and self.info.status in ("parked", "failed"):
                kind = "workflow_resumed" if self.info.status == "parked" else "run_retried"
                self.events.append({"seq": len(self.events) + 1, "type": kind,
                                    "timestamp": 3.0, "data": {"by": "operator"}})
                self.info.status = "running"
        return [e for e in self.events if e["seq"] > after_seq]

    def retry(self, run_id: str) -> client.RunInfo:
        before = self.get(run_id)
        if before.status in ("parked", "failed"):
            self.retries += 1
        return client.RunInfo(**{**before.__dict__})  # the state before the retry is handled

    def wait(self, run_id: str, timeout: float | None = None) -> client.RunInfo:
        # The CLI must not wait before the run took the retry: a failed run is still
        # "failed" until then, and that is final.
        assert self.info.status not in ("parked", "failed"), "waited on the old status"
        if self.ends is None:
            raise TimeoutError(f"run {run_id} is still running after {timeout}s")
        self.info.status = self.ends
        return self.info


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_unknown_run_is_a_one_line_error(rt: Any) -> None:
    line = one_line_error(invoke("runs", "retry", "run-doesnotexist"))
    assert "no run 'run-doesnotexist'" in line and "runs list" in line


@pytest.mark.parametrize("status", ["completed", "cancelled", "running", "suspended"])
def test_a_run_that_is_not_parked_or_failed_has_nothing_to_retry(
        monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    fake = FakeRun(monkeypatch, status)
    result = invoke("runs", "retry", "run-r")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"run run-r is {status}; nothing to retry"
    assert fake.retries == 0


def test_nothing_to_retry_with_wait_exits_0_only_when_completed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRun(monkeypatch, "completed")
    assert invoke("runs", "retry", "run-r", "--wait").exit_code == 0


@pytest.mark.parametrize("status", ["cancelled", "running"])
def test_nothing_to_retry_with_wait_is_not_waited_for(monkeypatch: pytest.MonkeyPatch,
                                                      status: str) -> None:
    FakeRun(monkeypatch, status, ends=None)
    result = invoke("--output", "json", "runs", "retry", "run-r", "--wait")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["outcome"] == "nothing_to_retry" and data["status"] == status


def test_parked_run_resumes_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRun(monkeypatch, "parked")
    result = invoke("runs", "retry", "run-r")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        "retry requested for parked run run-r: it resumes with the code the workers run now; "
        "follow it with: pyworkflow runs logs run-r --follow")
    assert fake.retries == 1


def test_failed_run_reopens_from_its_failed_step(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRun(monkeypatch, "failed")
    result = invoke("runs", "retry", "run-r")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("retry requested for failed run run-r: its failed step")
    assert "pyworkflow runs logs run-r --follow" in result.stdout
    assert fake.retries == 1


def test_json_is_the_run_plus_its_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRun(monkeypatch, "parked")
    result = invoke("--output", "json", "runs", "retry", "run-r")
    assert result.exit_code == 0
    data = json.loads(result.stdout)  # one document: the hint is not on stdout
    assert data["outcome"] == "requested" and data["run_id"] == "run-r"
    assert {"workflow", "status", "error", "waiting_on"} <= set(data)


@pytest.mark.parametrize("status", ["parked", "failed"])
def test_wait_exits_0_when_the_retried_run_completes(monkeypatch: pytest.MonkeyPatch,
                                                     status: str) -> None:
    fake = FakeRun(monkeypatch, status, handled_after=3)  # the worker takes a few polls
    result = invoke("runs", "retry", "run-r", "--wait")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert f"retry requested for {status} run run-r" in result.stdout
    assert result.stdout.strip().endswith("Run run-r completed.")
    assert fake.polls > 3


def test_wait_json_prints_only_the_final_run(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRun(monkeypatch, "failed")
    result = invoke("--output", "json", "runs", "retry", "run-r", "--wait")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "completed" and data["outcome"] == "completed"
    assert "retry requested" in result.stderr


@pytest.mark.parametrize(("ends", "text"), [("failed", "is failed, not completed"),
                                             ("parked", "is parked again"),
                                             ("cancelled", "is cancelled, not completed")])
def test_wait_exits_1_unless_it_completes(monkeypatch: pytest.MonkeyPatch, ends: str,
                                          text: str) -> None:
    FakeRun(monkeypatch, "failed", ends=ends)
    result = invoke("runs", "retry", "run-r", "--wait")
    assert result.exit_code == 1 and text in result.stdout
    assert "pyworkflow runs status run-r" in result.stdout


def test_wait_times_out_when_no_worker_takes_the_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRun(monkeypatch, "failed", handled_after=None)
    result = invoke("runs", "retry", "run-r", "--wait", "--timeout", "0.3")
    assert result.exit_code == 1
    assert "no worker has handled the retry of run run-r yet" in result.stdout


def test_wait_times_out_while_the_retried_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRun(monkeypatch, "parked", ends=None)
    result = invoke("--output", "json", "runs", "retry", "run-r", "--wait", "--timeout", "5")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["outcome"] == "timeout" and data["status"] == "running"


def test_timeout_needs_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRun(monkeypatch, "failed")
    assert invoke("runs", "retry", "run-r", "--timeout", "5").exit_code == 2
    assert fake.retries == 0
