"""Sealed journals on real workers: a run that ends or waits long has its journal folded
into one compressed value (``actors.sealed``), and everything goes on as before.

What is checked: the journal of a finished run is sealed (the stream gone, the value a
few hundred bytes, the seen set dropped) and reads back the same events through every
reader (the client, ``runs logs|status|export``, the dashboard's API, the actor
runtime's journal); a failed run, sealed, then retried with ``runs retry``, goes on
after its sealed prefix, completes with the right result, and replays from its
journal; a run sealed while it waits on a hook wakes, goes on and passes ``runs check``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

import pyworkflow
from pyworkflow.cli import run_check as _run_check  # noqa: F401  (registers check)
from pyworkflow.cli import run_control as _run_control  # noqa: F401  (registers retry)
from pyworkflow.cli import run_export as _run_export  # noqa: F401  (registers export)
from pyworkflow.cli._root import cli
from pyworkflow.client import hooks
from pyworkflow.web import create_app
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

MODULE = "tests.sealed_workflows"
#: a 3-step run's journal, sealed: about 300 bytes of zlib'd JSON (its stream took 2.2 KB)
SEALED_MAX_BYTES = 700


@pytest.fixture(scope="module")
def sealed_worker(rt: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    worker = Worker(MODULE, Path(tmp_path_factory.mktemp("sealed")), "sealed",
                    concurrency=2).start()
    import tests.sealed_workflows  # noqa: F401

    yield worker
    worker.stop()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _sealed(rt: Any, run_id: str) -> bool:
    keys = rt.system.actor_keys(run_id)
    return bool(rt.redis.exists(keys.sealed)) and not rt.redis.exists(keys.journal)


def _types(run_id: str) -> list[str]:
    return [e["type"] for e in pyworkflow.get_workflow_events(run_id)]


def test_a_finished_runs_journal_is_sealed_and_every_reader_reads_it(
        rt: Any, sealed_worker: Worker) -> None:
    run_id = pyworkflow.start("sealed_three_steps", 1)
    assert wait_done(run_id, 30)["result"] == 7
    wait_for(lambda: _sealed(rt, run_id), 15, 0.05, "the finished run's journal sealed")
    keys = rt.system.actor_keys(run_id)
    size = int(rt.redis.memory_usage(keys.sealed, samples=0) or 0)
    assert 0 < size <= SEALED_MAX_BYTES, size
    assert not rt.redis.exists(keys.seen)  # an ended run's seen set goes with the seal
    expected = ["workflow_started"] + ["step_scheduled", "step_completed"] * 3 + [
        "workflow_completed"]
    events = pyworkflow.get_workflow_events(run_id)
    assert [e["type"] for e in events] == expected
    assert [e["seq"] for e in events] == list(range(1, len(expected) + 1))
    assert [e["seq"] for e in pyworkflow.get_workflow_events(run_id, after_seq=3)] == list(
        range(4, len(expected) + 1))
    journal = rt.system.journal(run_id)
    assert [e.type for e in journal.read()] == expected
    assert journal.last_seq() == len(expected)
    # The CLI: logs, status, export.
    logs = invoke("runs", "logs", run_id)
    assert logs.exit_code == 0 and "workflow_completed" in logs.output, logs.output
    status = json.loads(invoke("--output", "json", "runs", "status", run_id).output)
    assert status["status"] == "completed"
    exported = json.loads(invoke("runs", "export", run_id).output)
    assert [e["type"] for e in exported] == expected
    # The dashboard's API.
    body = TestClient(create_app(), base_url="http://localhost").get(
        f"/api/runs/{run_id}").json()
    assert body["events_total"] == len(expected)
    assert [e["type"] for e in body["events"]] == expected


def test_a_sealed_failed_run_retried_goes_on_and_replays(
        rt: Any, sealed_worker: Worker, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    run_id = pyworkflow.start("sealed_fails_then_retried", str(flag))
    assert wait_done(run_id, 30)["status"] == "failed"
    wait_for(lambda: _sealed(rt, run_id), 15, 0.05, "the failed run's journal sealed")
    before = _types(run_id)
    assert before[-1] == "workflow_failed"
    flag.write_text("ok")
    retried = invoke("runs", "retry", run_id, "--wait")
    assert retried.exit_code == 0, retried.output
    final = wait_done(run_id, 30)
    assert final["status"] == "completed" and final["result"] == 31, final
    events = pyworkflow.get_workflow_events(run_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types[:len(before)] == before  # the sealed prefix, unchanged
    assert "run_retried" in types and types[-1] == "workflow_completed"
    # Sealed again once it ended: prefix and stream folded back into one value.
    wait_for(lambda: _sealed(rt, run_id), 15, 0.05, "the retried run sealed again")
    assert pyworkflow.get_workflow_events(run_id) == events
    # Replayed from its journal alone (a fresh state, nothing cached): the same end.
    from pyworkflow.engine import RunBehaviour
    from pyworkflow.worker import _runtime

    behaviour = _runtime.runtime().system.behaviour_for(run_id)
    assert isinstance(behaviour, RunBehaviour)
    state = behaviour.initial_state(run_id)
    for event in rt.system.journal(run_id).iter_all():
        behaviour.apply(state, event)
    state.catch_up()
    assert state.history.status == "completed" and state.divergence is None


def test_a_run_sealed_while_it_waits_on_a_hook_goes_on(rt: Any, sealed_worker: Worker) -> None:
    run_id = pyworkflow.start("sealed_waits_on_hook")
    token = wait_for(lambda: [h.token for h in hooks.list_hooks(status="pending",
                                                                 run_id=run_id, limit=5)],
                     30, 0.05, "the run's hook")[0]
    wait_for(lambda: _sealed(rt, run_id), 15, 0.05, "the waiting run's journal sealed")
    assert rt.redis.exists(rt.system.actor_keys(run_id).seen)  # kept: it has not ended
    check = invoke("--module", MODULE, "--output", "json", "runs", "check",
                   "--workflow", "sealed_waits_on_hook")
    assert check.exit_code == 0, check.output
    pyworkflow.resume_hook(token, {"n": 41})
    final = wait_done(run_id, 30)
    assert final["status"] == "completed" and final["result"] == 42
    types = _types(run_id)
    assert types[0] == "workflow_started" and types[-1] == "workflow_completed"
    seqs = [e["seq"] for e in pyworkflow.get_workflow_events(run_id)]
    assert seqs == list(range(1, len(seqs) + 1))
