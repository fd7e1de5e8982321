"""Safe operator commands (issue 28, item 4): each test failed before its fix.

* ``runs purge`` with no filter asks on a terminal and needs ``--yes`` elsewhere;
* ``schedules trigger``/``backfill`` say how many firings they queued ("0 firings");
* ``workflows run --wait`` follows a continue-as-new chain to its end;
* a repeated idempotent start says it returned the existing run;
* ``--arg`` values are checked against the workflow's annotations (exit 2);
* a cancelled run's ``get_result`` raises ``WorkflowCancelledError`` on every face;
* importing one example never declares another example's schedule;
* ``runs list --status continued_as_new`` is accepted.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import pyworkflow
from pyworkflow import client, keys
from pyworkflow.cli import run_purge
from pyworkflow.cli._root import cli
from pyworkflow.client import aio
from pyworkflow.run_info import RunId
from pyworkflow.schedules import api
from pyworkflow.testing import WorkflowEnvironment
from tests._workers import REPO, Worker, wait_for, worker_pool


@pyworkflow.workflow(name="opcmd_order")
async def opcmd_order(order_id: str, amount: float) -> dict[str, Any]:
    """Test workflow: its signature and annotations are what matter here."""
    return {"order_id": order_id, "amount": amount}


@pyworkflow.workflow(name="opcmd_tags")
async def opcmd_tags(tags: list[int], *extra: int, **named: float) -> None:
    return None


@pyworkflow.workflow(name="opcmd_wait")
async def opcmd_wait() -> None:
    await pyworkflow.sleep(3600)


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


# -- 3. --wait follows a continue-as-new chain --------------------------------------------------

class FakeChain:
    """The client for a chain run-a -> run-b -> run-c; run-c completes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, last: str = "completed") -> None:
        self.last = last
        monkeypatch.setattr(client, "start", lambda *a, **k: RunId("run-a"))
        monkeypatch.setattr(client, "get_workflow_run", self.get_run)
        monkeypatch.setattr(client, "get_workflow_events", lambda run_id, after_seq=0: [])

    def get_run(self, run_id: str) -> client.RunInfo:
        nxt = {"run-a": "run-b", "run-b": "run-c"}.get(run_id)
        status = "continued_as_new" if nxt else self.last
        return client.RunInfo(run_id, "opcmd_order", status, continued_to=nxt,
                              result={"polled": 3} if status == "completed" else None)


def test_wait_follows_a_continue_as_new_chain_to_its_last_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    FakeChain(monkeypatch)
    result = invoke("workflows", "run", "opcmd_order", "-a", "order_id=o", "-a", "amount=1",
                    "--wait")
    assert result.exit_code == 0, result.output
    assert "following run run-b" in result.stdout and "following run run-c" in result.stdout
    assert "Status: completed" in result.stdout and '{"polled": 3}' in result.stdout
    json_result = invoke("-o", "json", "workflows", "run", "opcmd_order", "-a", "order_id=o",
                         "-a", "amount=1", "--wait")
    assert json_result.exit_code == 0 and json.loads(json_result.stdout)["run_id"] == "run-c"


def test_wait_on_a_chain_whose_last_run_failed_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeChain(monkeypatch, last="failed")
    result = invoke("workflows", "run", "opcmd_order", "-a", "order_id=o", "-a", "amount=1",
                    "--wait")
    assert result.exit_code == 1 and "Status: failed" in result.stdout


# -- 5. --arg values against the annotations ---------------------------------------------------

@pytest.mark.parametrize("args, named, expected", [
    (("-a", "order_id=o", "-a", "amount=abc"), "'amount'", "expects float"),
    (("--args-json", '{"order_id": "o", "amount": [1]}'), "'amount'", "expects float"),
    (("--args-json", '["o", "abc"]'), "'amount'", "expects float"),
])
def test_a_value_that_does_not_fit_its_annotation_is_exit_2_and_starts_nothing(
        monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], named: str,
        expected: str) -> None:
    started: list[Any] = []

    def start(*a: Any, **k: Any) -> RunId:
        started.append(a)
        return RunId("run-x")

    monkeypatch.setattr(client, "start", start)
    result = invoke("workflows", "run", "opcmd_order", *args)
    assert result.exit_code == 2, result.output
    assert started == []
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in result.output
    assert named in line and expected in line and "opcmd_order(" in line


def test_values_that_fit_are_passed_as_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def start(*a: Any, **k: Any) -> RunId:
        calls.append((a, k))
        return RunId("r")

    monkeypatch.setattr(client, "start", start)
    monkeypatch.setattr(client, "get_workflow_run",
                        lambda run_id: client.RunInfo(run_id, "opcmd_order", "pending"))
    assert invoke("workflows", "run", "opcmd_order", "-a", "order_id=123",
                  "-a", "amount=5").exit_code == 0
    assert calls[0][1]["order_id"] == "123" and calls[0][1]["amount"] == 5  # not coerced
    bad = invoke("workflows", "run", "opcmd_tags", "--args-json", '[[1, "x"], 2, "y"]')
    assert bad.exit_code == 2 and "'tags'" in bad.stderr and "list[int]" in bad.stderr
    bad = invoke("workflows", "run", "opcmd_tags", "--args-json", '[[1], 2, "y"]')
    assert bad.exit_code == 2 and "'extra[1]'" in bad.stderr
    bad = invoke("workflows", "run", "opcmd_tags", "-a", "tags=[1]", "-a", "rate=fast")
    assert bad.exit_code == 2 and "'rate'" in bad.stderr and "float" in bad.stderr


# -- 4. a repeated idempotent start -------------------------------------------------------------

def test_a_repeated_idempotent_start_says_it_returned_the_existing_run(rt: Any) -> None:
    key = f"opcmd-{uuid.uuid4().hex[:8]}"
    first = pyworkflow.start("opcmd_wait", idempotency_key=key)
    again = pyworkflow.start("opcmd_wait", idempotency_key=key)
    assert first.created is True and again.created is False and again == first
    assert asyncio.run(aio.start("opcmd_wait", idempotency_key=key)).created is False
    result = invoke("workflows", "run", "opcmd_wait", "--idempotency-key", key)
    assert result.exit_code == 0, result.output
    assert not result.stdout.startswith("Started")
    assert f"Existing run of opcmd_wait: run {first}" in result.stdout
    data = json.loads(invoke("-o", "json", "workflows", "run", "opcmd_wait",
                             "--idempotency-key", key).stdout)
    assert data["run_id"] == first and data["created"] is False
    new_key = f"opcmd-{uuid.uuid4().hex[:8]}"
    fresh = invoke("workflows", "run", "opcmd_wait", "--idempotency-key", new_key)
    assert fresh.stdout.startswith("Started opcmd_wait")
    pyworkflow.cancel_workflow(first)


# -- 6. WorkflowCancelledError ------------------------------------------------------------------

def _fake_cancelled_run(rt: Any) -> str:
    """A run record as a cancelled run's last commit leaves it."""
    run_id = f"run-opcmd-{uuid.uuid4().hex[:10]}"
    now = time.time()
    rt.redis.hset(rt.system.actor_keys(run_id).record, mapping={
        "workflow": "opcmd_wait", "status": "cancelled", "created_at": repr(now),
        "updated_at": repr(now), "finished_at": repr(now),
        "error": json.dumps({"type": "CancellationError", "message": "run cancelled: ops"})})
    return run_id


def test_get_result_of_a_cancelled_run_raises_workflow_cancelled_error_on_both_faces(
        rt: Any) -> None:
    run_id = _fake_cancelled_run(rt)
    with pytest.raises(pyworkflow.WorkflowCancelledError) as sync_err:
        pyworkflow.get_result(run_id, timeout=5)
    assert isinstance(sync_err.value, pyworkflow.WorkflowFailedError)  # old code still catches
    assert sync_err.value.run_id == run_id and sync_err.value.error_type == "CancellationError"
    with pytest.raises(pyworkflow.WorkflowCancelledError):
        asyncio.run(aio.get_result(run_id, timeout=5))


def test_an_in_process_cancelled_run_raises_workflow_cancelled_error() -> None:
    with WorkflowEnvironment() as env:
        handle = env.start(opcmd_wait)
        env.cancel(handle.run_id, reason="ops")
        with pytest.raises(pyworkflow.WorkflowCancelledError, match="ops"):
            handle.result()


def test_a_failed_run_still_raises_plain_workflow_failed_error() -> None:
    from pyworkflow.client.run_queries import result_of

    with pytest.raises(pyworkflow.WorkflowFailedError) as failed:
        result_of(client.RunInfo("run-1", "w", "failed", error={"type": "KeyError"}))
    assert type(failed.value) is pyworkflow.WorkflowFailedError


# -- 1. runs purge with no filter ---------------------------------------------------------------

def _fake_finished_run(rt: Any, workflow: str) -> str:
    run_id = f"run-opcmd-{uuid.uuid4().hex[:10]}"
    then = time.time() - 60
    rt.redis.hset(rt.system.actor_keys(run_id).record, mapping={
        "workflow": workflow, "status": "completed", "created_at": repr(then),
        "updated_at": repr(then), "finished_at": repr(then)})
    rt.redis.zadd(keys.runs_index(rt.settings.key_prefix), {run_id: then})
    return run_id


def _exists(rt: Any, run_id: str) -> bool:
    return bool(rt.redis.exists(rt.system.actor_keys(run_id).record))


def test_an_unfiltered_purge_needs_yes_off_a_terminal_and_asks_on_one(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = f"opcmd-purge-{uuid.uuid4().hex[:6]}"
    run_id = _fake_finished_run(rt, workflow)
    refused = invoke("runs", "purge")
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    assert _exists(rt, run_id)
    monkeypatch.setattr(run_purge, "stdin_is_terminal", lambda: True)
    declined = invoke("runs", "purge", stdin="n\n")
    assert declined.exit_code == 1 and _exists(rt, run_id)
    assert "finished run(s)" in declined.stderr and "Delete all" in declined.stderr
    assert "Nothing deleted" in declined.stderr
    # A filter purges as it always did, without asking, and says how many it deleted.
    monkeypatch.setattr(run_purge, "stdin_is_terminal", lambda: False)
    filtered = invoke("runs", "purge", "--workflow", workflow)
    assert filtered.exit_code == 0, filtered.output
    assert "purged 1 of 1 finished run(s)" in filtered.stdout and not _exists(rt, run_id)


def test_an_unfiltered_purge_with_yes_or_a_yes_answer_deletes(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _fake_finished_run(rt, "opcmd-purge-all")
    monkeypatch.setattr(run_purge, "stdin_is_terminal", lambda: True)
    agreed = invoke("runs", "purge", stdin="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert not _exists(rt, first) and "purged" in agreed.stdout
    second = _fake_finished_run(rt, "opcmd-purge-all")
    monkeypatch.setattr(run_purge, "stdin_is_terminal", lambda: False)
    forced = invoke("runs", "purge", "--yes")
    assert forced.exit_code == 0 and not _exists(rt, second) and "purged" in forced.stdout


# -- 2. schedules trigger / backfill say how many firings ---------------------------------------

def test_trigger_and_backfill_say_how_many_firings_they_queued(rt: Any) -> None:
    sid = api.create_schedule("opcmd_wait", interval="1h",
                              schedule_id=f"opcmd-{uuid.uuid4().hex[:6]}")
    assert api.trigger_schedule(sid) == 1
    trigger = invoke("schedules", "trigger", sid)
    assert trigger.exit_code == 0 and f"trigger queued: 1 firing of {sid}" in trigger.stdout
    empty = invoke("schedules", "backfill", sid, "--start", "2020-01-01T00:00:00Z",
                   "--end", "2020-01-02T00:00:00Z")
    assert empty.exit_code == 0, empty.output
    assert "0 firings" in empty.stdout and "nothing was started" in empty.stdout
    assert "backfill sent" not in empty.stdout
    data = json.loads(invoke("-o", "json", "schedules", "backfill", sid, "--start",
                             "2020-01-01T00:00:00Z", "--end", "2020-01-02T00:00:00Z").stdout)
    assert data == {"schedule_id": sid, "queued": 0}
    api.delete_schedule(sid)


# -- 7. importing one example declares no other example's schedule ------------------------------

def _declared_ids(rt: Any, prefix: str) -> list[str]:
    return [s.decode() for s in rt.redis.zrange(keys.schedules_index(prefix), 0, -1)]


def test_importing_example_01_declares_no_schedule(rt: Any) -> None:
    # A prefix of its own: a worker of this session that serves every example (and so
    # rightly declares example 12's schedule) must not count here.
    prefix = f"{rt.settings.key_prefix}-imp{uuid.uuid4().hex[:6]}"
    code = ("import importlib, pyworkflow\n"
            "importlib.import_module('examples.celery.durable.01_basic_workflow')\n"
            "pyworkflow.list_workflow_runs(limit=1)\n")  # the runtime is built, as the demo
    try:
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60,
                       env={**os.environ, "PYWORKFLOW_KEY_PREFIX": prefix})
        assert _declared_ids(rt, prefix) == []
        assert not rt.redis.keys(f"{prefix}*sched-nightly_report*")
    finally:
        stale = list(rt.redis.scan_iter(f"{prefix}*"))
        if stale:
            rt.redis.delete(*stale)


def test_a_worker_with_example_12_declares_its_schedule(rt: Any, log_dir: Path) -> None:
    worker: Worker
    with worker_pool("examples.celery.durable.12_schedules", log_dir, "opdecl", count=1,
                     pool="solo") as (worker,):
        assert worker.alive()
        info = wait_for(lambda: _try_schedule("sched-nightly_report"), 30, 0.1,
                        "the declared schedule")
        assert info.spec.cron == "0 3 * * *"
        api.delete_schedule("sched-nightly_report", wait=30)


def _try_schedule(sid: str) -> Any:
    try:
        return api.get_schedule(sid)
    except pyworkflow.ScheduleNotFoundError:
        return None


# -- 8. every status is a valid filter ----------------------------------------------------------

def test_runs_list_accepts_every_status_a_run_can_have(rt: Any) -> None:
    for status in ("continued_as_new", *sorted(pyworkflow.TERMINAL_STATUSES)):
        result = invoke("runs", "list", "--status", status)
        assert result.exit_code == 0, (status, result.output)
