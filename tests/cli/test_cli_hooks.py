"""``pyworkflow hooks ...`` against real hook records, and ``runs cancel|children``.

Hooks are recorded directly with ``record_hook`` in the session's Redis, so no
worker is needed. The ``runs`` commands that need runs with children or a
cancellation in progress replace the client functions with fakes (as
``test_cli_args`` does): what is checked is what the CLI prints and returns.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel

from pyworkflow import client
from pyworkflow.cli import hooks as _hooks  # noqa: F401  (registers the commands)
from pyworkflow.cli import run_control as _run_control  # noqa: F401  (registers cancel, retry)
from pyworkflow.cli import runs as _runs  # noqa: F401
from pyworkflow.cli._output import format_time
from pyworkflow.cli._root import cli
from pyworkflow.client import hooks
from pyworkflow.errors import (
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
    RunNotFoundError,
)
from pyworkflow.registry import hook_models
from pyworkflow.worker import hook_store
from pyworkflow.workflow_api.hooks import define_hook
from tests._workers import PYWORKFLOW, REPO


class Shipment(BaseModel):
    address: str
    express: bool = False


define_hook("cli_test_shipment", Shipment)


def invoke(*args: str, input: str | None = None) -> Result:  # noqa: A002  (click's name)
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def invoke_json(*args: str) -> Any:
    result = invoke("--output", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def one_line_error(result: Result) -> str:
    """The command failed with exactly one line on stderr and nothing on stdout."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def new_hook(name: str = "cli_test_plain", expires_at_ms: int | None = None,
             run_id: str | None = None) -> str:
    token = hooks.new_token()
    hooks.record_hook(token, run_id or f"run-cli{secrets.token_hex(6)}", 3, name, expires_at_ms)
    return token


# -- hooks list / info -----------------------------------------------------------------

def test_list_shows_hooks_with_filters(rt: Any) -> None:
    run_id = f"run-cli{secrets.token_hex(6)}"
    pending = new_hook(run_id=run_id, expires_at_ms=int(time.time() * 1000) + 600_000)
    done = new_hook(run_id=run_id)
    hooks.resume_hook(done, {"x": 1})
    listed = invoke_json("hooks", "list", "--run-id", run_id)
    assert [h["token"] for h in listed] == [done, pending]  # newest first
    for item in listed:
        assert {"token", "name", "run_id", "status", "expires_at"} <= set(item)
    assert [h["token"] for h in invoke_json("hooks", "list", "--run-id", run_id,
                                            "--status", "pending")] == [pending]
    assert len(invoke_json("hooks", "list", "--run-id", run_id, "--limit", "1")) == 1
    table = invoke("hooks", "list", "--run-id", run_id).stdout
    assert "TOKEN" in table and pending in table and "received" in table
    assert "No hooks matching" in invoke("hooks", "list", "--run-id", "run-none").stdout


def test_info_shows_one_hook_and_how_to_resume_it(rt: Any) -> None:
    token = new_hook(expires_at_ms=int(time.time() * 1000) + 600_000)
    data = invoke_json("hooks", "info", token)
    assert data["token"] == token and data["status"] == "pending" and data["expires_at"]
    text = invoke("hooks", "info", token).stdout
    assert "cli_test_plain" in text and f"hooks resume {token}" in text and "in " in text
    assert "no hook with token" in one_line_error(invoke("hooks", "info", "nope"))


# -- hooks resume ------------------------------------------------------------------------

def test_resume_delivers_once(rt: Any) -> None:
    token = new_hook()
    result = invoke("hooks", "resume", token, "--payload", '{"approved": true}')
    assert result.exit_code == 0, result.stderr
    assert "Delivered" in result.stdout and hooks.get_hook(token).run_id in result.stdout
    assert hooks.get_hook(token).status == "received"
    assert "already received" in one_line_error(
        invoke("hooks", "resume", token, "--payload", "1"))


def test_resume_json_prints_the_hook(rt: Any) -> None:
    token = new_hook()
    data = invoke_json("hooks", "resume", token, "--payload", "null")
    assert data["token"] == token and data["status"] == "received"


def test_resume_reads_a_file_or_stdin(rt: Any, tmp_path: Path) -> None:
    path = tmp_path / "payload.json"
    path.write_text('{"from": "file"}')
    token = new_hook()
    assert invoke("hooks", "resume", token, "--payload-file", str(path)).exit_code == 0
    token = new_hook()
    result = invoke("hooks", "resume", token, "--payload-file", "-", input='{"from": "stdin"}')
    assert result.exit_code == 0, result.stderr


def test_resume_refusals_are_one_line(rt: Any) -> None:
    assert "no hook with token" in one_line_error(
        invoke("hooks", "resume", hooks.new_token(), "--payload", "{}"))
    expired = new_hook(expires_at_ms=int(time.time() * 1000) - 1000)
    assert "is expired" in one_line_error(invoke("hooks", "resume", expired, "--payload", "{}"))
    cancelled = new_hook()
    hooks.transition(cancelled, "cancelled")
    assert "is cancelled" in one_line_error(
        invoke("hooks", "resume", cancelled, "--payload", "{}"))


def test_resume_refusals_never_show_the_whole_token(rt: Any) -> None:
    received = new_hook()
    hooks.resume_hook(received, None)
    cancelled = new_hook()
    hooks.transition(cancelled, "cancelled")
    for token in (received, cancelled, hooks.new_token()):
        line = one_line_error(invoke("hooks", "resume", token, "--payload", "{}"))
        assert token not in line and token[:6] in line


@pytest.mark.parametrize("text", ['{"a": ', "NaN", "{'a': 1}"])
def test_resume_refuses_malformed_json(rt: Any, text: str) -> None:
    token = new_hook()
    assert "not valid JSON" in one_line_error(invoke("hooks", "resume", token, "--payload", text))
    assert hooks.get_hook(token).status == "pending"


def field_errors(result: Result) -> tuple[str, list[str]]:
    """A typed hook's refusal: the error's line, then one indented line per field."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    first, *fields = [line for line in result.stderr.splitlines() if line.strip()]
    assert first.startswith("Error: ") and all(f.startswith("  ") for f in fields), result.stderr
    return first, [f.strip() for f in fields]


def test_resume_names_the_fields_a_typed_hook_refuses(rt: Any) -> None:
    token = new_hook("cli_test_shipment")
    first, fields = field_errors(
        invoke("hooks", "resume", token, "--payload", '{"express": "maybe"}'))
    assert "cli_test_shipment" in first and "still pending" in first
    assert fields[0] == "address: Field required" and fields[1].startswith("express: ")
    assert "maybe" not in "".join(fields)
    assert hooks.get_hook(token).status == "pending"
    result = invoke("hooks", "resume", token, "--payload", '{"address": "1 Main St"}')
    assert result.exit_code == 0, result.stderr


def test_resume_checks_the_stored_schema_without_the_model(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``hooks resume`` without ``--module`` runs: the model is not registered in the
    process, the schema recorded with the hook decides."""
    token = hooks.new_token()
    hooks.record_hook(token, f"run-cli{secrets.token_hex(6)}", 3, "cli_test_shipment", None,
                      model=Shipment)
    monkeypatch.delitem(hook_models, "cli_test_shipment")
    first, fields = field_errors(
        invoke("hooks", "resume", token, "--payload", '{"express": "maybe"}'))
    assert fields == ["address: Field required", "express: Input should be a valid boolean"]
    assert hooks.get_hook(token).status == "pending"
    result = invoke("hooks", "resume", token, "--payload", '{"address": "1 Main St"}')
    assert result.exit_code == 0, result.stderr
    assert "note:" not in result.stderr  # the schema checked it: nothing to warn about
    assert hooks.get_hook(token).status == "received"


def test_info_suggests_a_payload_built_from_the_schema(rt: Any) -> None:
    token = hooks.new_token()
    hooks.record_hook(token, f"run-cli{secrets.token_hex(6)}", 3, "cli_test_shipment", None,
                      model=Shipment)
    text = invoke("hooks", "info", token).stdout
    line = next(line for line in text.splitlines() if "hooks resume" in line)
    suggested = shlex.split(line.split("pyworkflow ", 1)[1])
    assert suggested[:3] == ["hooks", "resume", token]
    assert json.loads(suggested[4]) == {"address": "<address>"}
    assert "typed" in text
    data = invoke_json("hooks", "info", token)
    assert data["payload_schema"]["required"] == ["address"]
    assert data["example_payload"] == {"address": "<address>"}
    result = invoke(*suggested)  # the suggestion is a payload the hook takes
    assert result.exit_code == 0, result.stderr


def test_resume_needs_exactly_one_payload_option(rt: Any, tmp_path: Path) -> None:
    token = new_hook()
    assert "exactly one of" in one_line_error(invoke("hooks", "resume", token))
    path = tmp_path / "p.json"
    path.write_text("{}")
    assert "exactly one of" in one_line_error(
        invoke("hooks", "resume", token, "--payload", "{}", "--payload-file", str(path)))


# -- resume_hook (the SDK) ---------------------------------------------------------------

class Sends:
    """Stands in for ``system.send``: records each message, then runs ``then``."""

    def __init__(self, then: Any = None) -> None:
        self.sent: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.then = then

    def __call__(self, actor_id: str, kind: str, payload: dict[str, Any] | None = None,
                 msg_id: str | None = None) -> None:
        self.sent.append((actor_id, kind, payload or {}, msg_id))
        if self.then is not None:
            self.then()


def test_a_failed_send_leaves_the_hook_pending_for_a_retry(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from kombu.exceptions import OperationalError

    token = new_hook()

    def broker_down() -> None:
        raise OperationalError("broker down")

    monkeypatch.setattr(rt.system, "send", Sends(broker_down))
    with pytest.raises(OperationalError):
        hooks.resume_hook(token, {"n": 1})
    assert hooks.get_hook(token).status == "pending"  # nothing lost: a retry can deliver
    sends = Sends()
    monkeypatch.setattr(rt.system, "send", sends)
    assert hooks.resume_hook(token, {"n": 1}).status == "received"
    assert hooks.get_hook(token).status == "received"
    assert [(kind, msg_id) for _, kind, _, msg_id in sends.sent] == [
        ("hook-received", f"hook:{token}")]


def test_a_delivery_cut_after_its_claim_is_finished_by_a_retry_of_its_payload(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender died between claiming the hook and sending: the claim and its payload
    stay; the same payload sent again is accepted and sent, another one is refused."""

    token = new_hook()

    def process_dies() -> None:
        raise ConnectionError("process died here")

    monkeypatch.setattr(rt.system, "send", Sends(process_dies))
    monkeypatch.setattr(rt.hooks, "release", lambda *_: False)  # never got that far
    with pytest.raises(ConnectionError):
        hooks.resume_hook(token, {"n": 1})
    assert hooks.get_hook(token).status == "received"
    sends = Sends()
    monkeypatch.setattr(rt.system, "send", sends)
    with pytest.raises(HookAlreadyReceivedError):
        hooks.resume_hook(token, {"n": 2})
    assert hooks.resume_hook(token, {"n": 1}).status == "received"
    assert [(p["payload"], msg_id) for _, _, p, msg_id in sends.sent] == [
        ({"n": 1}, f"hook:{token}")]


@pytest.mark.parametrize(("meanwhile", "error", "status"), [
    ("received", HookAlreadyReceivedError, "received"),
    ("expired", HookExpiredError, "expired"),
    ("cancelled", HookExpiredError, "cancelled"),
])
def test_a_hook_that_moves_before_the_claim_refuses_the_delivery(
        rt: Any, monkeypatch: pytest.MonkeyPatch, meanwhile: str, error: type[Exception],
        status: str) -> None:

    token = new_hook()
    claim = rt.hooks.claim

    def moved_first(*args: Any) -> hook_store.Move:
        hooks.transition(token, meanwhile)
        return claim(*args)

    monkeypatch.setattr(rt.hooks, "claim", moved_first)
    sends = Sends()
    monkeypatch.setattr(rt.system, "send", sends)
    with pytest.raises(error) as refused:
        hooks.resume_hook(token, {"n": 1})
    assert hooks.refusal_status(refused.value) == status
    assert hooks.get_hook(token).status == meanwhile
    assert sends.sent == []


def test_hook_errors_show_only_the_start_of_the_token(rt: Any) -> None:
    import pickle

    received, cancelled, expired = new_hook(), new_hook(), new_hook(
        expires_at_ms=int(time.time() * 1000) - 1000)
    hooks.resume_hook(received)
    hooks.transition(cancelled, "cancelled")
    unknown = hooks.new_token()
    cases = [(received, HookAlreadyReceivedError, "received"),
             (cancelled, HookExpiredError, "cancelled"),
             (expired, HookExpiredError, "expired"),
             (unknown, HookNotFoundError, "missing")]
    for token, error, status in cases:
        with pytest.raises(error) as refused:
            hooks.resume_hook(token, {"n": 1})
        exc = refused.value
        assert token not in str(exc) and token not in repr(exc) and token[:6] in str(exc)
        assert exc.token == token and hooks.refusal_status(exc) == status  # type: ignore[attr-defined]
        copy = pickle.loads(pickle.dumps(exc))
        assert str(copy) == str(exc) and copy.token == token
    with pytest.raises(HookExpiredError, match="was cancelled"):
        hooks.resume_hook(cancelled)


def test_list_hooks_reads_records_a_page_at_a_time(rt: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = f"run-cli{secrets.token_hex(6)}"
    tokens = [new_hook(run_id=run_id) for _ in range(hook_store.LIST_PAGE + 30)]

    def one_by_one(*_: Any) -> None:
        raise AssertionError("list_hooks read a hook record on its own")

    monkeypatch.setattr(rt.redis, "hgetall", one_by_one)
    found = hooks.list_hooks(run_id=run_id, limit=1000)
    assert len(found) == len(tokens) and {h.token for h in found} == set(tokens)
    assert len(hooks.list_hooks(run_id=run_id, limit=5)) == 5


def test_serve_answers_and_stops_on_sigterm(rt: Any) -> None:
    proc = subprocess.Popen([PYWORKFLOW, "hooks", "serve", "--port", "0"], cwd=REPO,
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("Listening on http://127.0.0.1:"), banner
        url = banner.split()[2]
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as resp:
            assert json.loads(resp.read()) == {"ok": True}
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Stopped." in out


# -- runs cancel / children / status / list --top-level ----------------------------------

def test_cancel_of_an_unknown_run_is_a_clear_error(rt: Any) -> None:
    line = one_line_error(invoke("runs", "cancel", "run-doesnotexist"))
    assert "no run 'run-doesnotexist'" in line


class FakeRuns:
    """Runs kept in a dict; ``cancel_workflow`` and ``wait_for_run`` move them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, runs: list[client.RunInfo],
                 events: dict[str, list[dict[str, Any]]] | None = None,
                 cancels_to: str | None = "cancelled") -> None:
        self.runs = {r.run_id: r for r in runs}
        self.events = events or {}
        self.cancels_to = cancels_to
        self.cancelled: list[tuple[str, str | None]] = []
        monkeypatch.setattr(client, "get_workflow_run", self.get)
        monkeypatch.setattr(client, "get_workflow_events", self.get_events)
        monkeypatch.setattr(client, "cancel_workflow", self.cancel)
        monkeypatch.setattr(client, "wait_for_run", self.wait)
        monkeypatch.setattr(client, "list_workflow_runs", self.list)

    def get(self, run_id: str) -> client.RunInfo:
        if run_id not in self.runs:
            raise RunNotFoundError(run_id)
        return self.runs[run_id]

    def get_events(self, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
        self.get(run_id)
        return self.events.get(run_id, [])

    def cancel(self, run_id: str, reason: str | None = None, wait: bool = False,
               timeout: float | None = None) -> client.RunInfo:
        self.cancelled.append((run_id, reason))
        return self.get(run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> client.RunInfo:
        if self.cancels_to is None:
            raise TimeoutError(f"run {run_id} is still running after {timeout}s")
        self.runs[run_id].status = self.cancels_to
        return self.runs[run_id]

    def list(self, status: str | None = None, workflow: str | None = None,
             limit: int = 50) -> list[client.RunInfo]:
        return list(self.runs.values())[:limit]


def run(run_id: str, status: str = "suspended", parent: str | None = None) -> client.RunInfo:
    return client.RunInfo(run_id, "wf", status, created_at=1.0, updated_at=2.0,
                          parent_run_id=parent)


def test_cancel_of_a_finished_run_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRuns(monkeypatch, [run("run-done", "completed")])
    result = invoke("runs", "cancel", "run-done", "--wait")
    assert result.exit_code == 0
    assert result.stdout.strip() == "run run-done is already completed; nothing changed"
    assert fake.cancelled == []


def test_cancel_requests_and_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRuns(monkeypatch, [run("run-a")])
    result = invoke("runs", "cancel", "run-a", "--reason", "Customer cancelled")
    assert result.exit_code == 0 and "Cancellation requested" in result.stdout
    assert fake.cancelled == [("run-a", "Customer cancelled")]


def test_cancel_wait_exits_0_when_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, [run("run-a")])
    result = invoke("--output", "json", "runs", "cancel", "run-a", "--wait")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "cancelled" and data["outcome"] == "cancelled"


def test_cancel_wait_exits_1_on_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, [run("run-a")], cancels_to=None)
    result = invoke("runs", "cancel", "run-a", "--wait", "--timeout", "0.1")
    assert result.exit_code == 1 and "Timed out" in result.stdout
    assert "still suspended" in result.stdout


def test_cancel_wait_exits_1_when_the_run_ends_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, [run("run-a")], cancels_to="failed")
    result = invoke("runs", "cancel", "run-a", "--wait")
    assert result.exit_code == 1 and "ended failed" in result.stdout


def test_cancel_timeout_needs_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, [run("run-a")])
    assert invoke("runs", "cancel", "run-a", "--timeout", "5").exit_code == 2


def _family(monkeypatch: pytest.MonkeyPatch) -> FakeRuns:
    started = [{"seq": i + 2, "type": "child_started", "timestamp": 1.0,
                "data": {"call_id": i, "workflow": "child_wf", "child_run_id": child,
                         "wait": i == 0, "policy": "terminate"}}
               for i, child in enumerate(["run-c1", "run-c2", "run-c3"])]
    events = {"run-p": [{"seq": 1, "type": "workflow_started", "timestamp": 1.0, "data": {}},
                        *started, {**started[0], "seq": 9}]}  # a repeat is listed once
    # run-c3 has no record yet: its start message is committed, its first turn not run.
    return FakeRuns(monkeypatch, [run("run-c1", "completed", "run-p"),
                                  run("run-c2", "running", "run-p"), run("run-p")], events)


def test_children_lists_each_child_with_its_status(monkeypatch: pytest.MonkeyPatch) -> None:
    _family(monkeypatch)
    data = invoke_json("runs", "children", "run-p")
    assert [(c["run_id"], c["status"]) for c in data] == [
        ("run-c1", "completed"), ("run-c2", "running"), ("run-c3", "pending")]
    assert all(c["parent_run_id"] == "run-p" and c["children"] == 0 for c in data)
    assert set(invoke_json("runs", "status", "run-c1")) == set(data[0])  # same shape
    table = invoke("runs", "children", "run-p").stdout
    assert "run-c3" in table and "pending" in table and "AWAITED" in table
    assert "no child workflows" in invoke("runs", "children", "run-c1").stdout
    assert "no run 'run-x'" in one_line_error(invoke("runs", "children", "run-x"))


def test_status_shows_parent_and_children_count(monkeypatch: pytest.MonkeyPatch) -> None:
    _family(monkeypatch)
    assert invoke_json("runs", "status", "run-p")["children"] == 3
    assert invoke_json("runs", "status", "run-c1")["parent_run_id"] == "run-p"
    text = invoke("runs", "status", "run-p").stdout
    assert "Children:" in text and "runs children run-p" in text
    assert "Parent:" in invoke("runs", "status", "run-c2").stdout


def test_list_top_level_skips_children(monkeypatch: pytest.MonkeyPatch) -> None:
    _family(monkeypatch)
    assert [r["run_id"] for r in invoke_json("runs", "list", "--top-level")] == ["run-p"]
    assert [r["run_id"] for r in invoke_json("runs", "list", "--top-level", "-n", "1")] == [
        "run-p"]
    assert len(invoke_json("runs", "list")) == 3


def test_status_shows_sleep_deadlines_as_times(monkeypatch: pytest.MonkeyPatch) -> None:
    wake_ms = int((time.time() + 3600) * 1000)
    waiting = run("run-w")
    waiting.waiting_on = [f"sleep until {wake_ms}", "hook approval"]
    FakeRuns(monkeypatch, [waiting])
    text = invoke("runs", "status", "run-w").stdout
    line = next(line for line in text.splitlines() if line.startswith("Waiting on:"))
    assert str(wake_ms) not in line and format_time(wake_ms / 1000) in line
    assert "(in 59m" in line or "(in 1h)" in line
    assert line.endswith(", hook approval")
    assert invoke_json("runs", "status", "run-w")["waiting_on"][0] == f"sleep until {wake_ms}"
    assert _runs.waiting_text(f"sleep until {wake_ms}", now=wake_ms / 1000 + 1).endswith("(due)")
