"""A deploy that changes a workflow with runs in flight, on real workers.

A run starts on a worker with the old code and sleeps; that worker stops. ``runs
check`` flags the run against code that switches steps without a guard, and passes
it against code that guards the switch with ``patched()``. A worker with the
unguarded code parks the run (its replay diverges); with the guarded code,
``runs retry --all-parked`` resumes it on the old branch, and a fresh run takes the
new one.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import cli

OLD, NEW, UNPATCHED = (f"tests.patch_workflows_{v}" for v in ("old", "new", "unpatched"))


@pytest.fixture()
def workers(rt, log_dir: Path) -> Iterator[dict[str, Worker]]:  # type: ignore[no-untyped-def]
    started = {m: Worker(m, log_dir, m.rsplit("_", 1)[-1]) for m in (OLD, NEW, UNPATCHED)}
    importlib.import_module(OLD)  # this process starts runs with the old code
    try:
        yield started
    finally:
        for w in started.values():
            w.stop()


def types(run_id: str) -> list[str]:
    return [e["type"] for e in pyworkflow.get_workflow_events(run_id)]


def status_is(run_id: str, status: str, timeout: float = 30) -> pyworkflow.RunInfo:
    def check() -> Any:
        info = pyworkflow.get_workflow_run(run_id)
        return info if info.status == status else None

    return wait_for(check, timeout, 0.05, f"run {run_id} to be {status}")  # type: ignore[no-any-return]


def check_runs(module: str) -> tuple[int, list[dict[str, Any]]]:
    proc = cli("--module", module, "--output", "json", "runs", "check", "--workflow",
               "patched_order", check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_patched_keeps_an_old_run_on_the_old_branch_and_runs_check_sees_it(workers) -> None:  # type: ignore[no-untyped-def]
    workers[OLD].start()
    old_run = pyworkflow.start("patched_order", "o-1", wait="3s")
    wait_for(lambda: ev.SLEEP_STARTED in types(old_run), 30, 0.05, "the old run to sleep")
    workers[OLD].stop()  # the deploy begins: no worker runs the old code any more

    code, found = check_runs(UNPATCHED)
    assert code == 1, found
    assert [d["run_id"] for d in found] == [old_run]
    assert "old_check" in found[0]["recorded"] and "new_check" in found[0]["issued"], found
    assert found[0]["workflow"] == "patched_order" and found[0]["position"] is not None
    code, found = check_runs(NEW)
    assert (code, found) == (0, [])
    table = cli("--module", NEW, "runs", "check", "--workflow", "patched_order")
    assert "all replay the same" in table.stdout

    workers[UNPATCHED].start()  # deployed anyway: the run's replay diverges, it parks
    parked = status_is(old_run, "parked")
    assert parked.status == "parked"
    workers[UNPATCHED].stop()

    workers[NEW].start()  # the guarded code: an operator retries every parked run
    out = cli("runs", "retry", "--all-parked", "--workflow", "patched_order")
    assert old_run in out.stdout and "requested" in out.stdout
    info = pyworkflow.wait_for_run(old_run, timeout=30)
    assert info.status == "completed", info
    assert info.result == {"check": "old o-1", "finish": "finished o-1"}
    assert ev.PATCH_MARKED not in types(old_run)

    new_run = pyworkflow.start("patched_order", "o-2")
    info = pyworkflow.wait_for_run(new_run, timeout=30)
    assert info.result == {"check": "new o-2", "finish": "finished o-2"}, info
    assert ev.PATCH_MARKED in types(new_run)
    assert check_runs(NEW) == (0, [])
    nothing = cli("runs", "retry", "--all-parked", "--workflow", "patched_order")
    assert "No parked runs" in nothing.stdout


def test_runs_check_needs_a_module(rt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # An earlier test of this process may have imported a module through the runtime,
    # which remembers it in the environment for worker children (PYWORKFLOW_MODULE).
    monkeypatch.delenv("PYWORKFLOW_MODULE", raising=False)
    proc = cli("runs", "check", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "Error: runs check replays runs against your workflow code: give it with "
        "pyworkflow --module MODULE runs check"]
