"""A typed hook's payload is refused at every door, and a bad one never fails the run.

Issue 23: ``hooks resume`` without ``--module`` and ``hooks serve`` accepted a payload
missing a required field (the worker alone had the model), the worker's check then
failed the run, and the payload was lost. Now each door checks the JSON Schema the
engine stored with the hook (and the model, where it is importable): the CLI with and
without ``--module`` (real ``pyworkflow`` processes, which import only what they are
told to), the HTTP endpoint of a real ``hooks serve`` without a module, and
``resume_hook`` / ``aio.resume_hook``. A refusal names the field and leaves the hook
pending; a valid payload then completes the run, on a real worker.

``worker_pool`` imports the workflows' module into this process too, which registers
the hook's model here; the ``no_model`` fixture takes it out again, so this process is
a door that cannot import the app (what a web server or a CLI without ``--module`` is).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pyworkflow
from pyworkflow import events as ev
from pyworkflow import keys
from pyworkflow.cli import hooks as _hooks  # noqa: F401  (registers the commands)
from pyworkflow.cli._root import cli
from pyworkflow.client import aio
from pyworkflow.errors import HookPayloadError, PyWorkflowError
from pyworkflow.registry import hook_models
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for, worker_pool
from tests.worker.test_hook_delivery import Serve, finished, pending_token, post

MODULE = "tests.hook_workflows"
HOOK = "hooktest_shipment"
BAD = {"express": "maybe"}  # the required address is missing, express is no boolean
GOOD = {"address": "1 Main St"}


@pytest.fixture(scope="module")
def workers(rt: Any, log_dir: Path) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, log_dir, "door", count=1, concurrency=1) as pool:
        yield pool


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(hook_models, HOOK, raising=False)


def typed_run() -> tuple[str, str]:
    run_id = pyworkflow.start("hooktest_typed")
    return run_id, pending_token(run_id)


def event_types(run_id: str) -> list[str]:
    return [e["type"] for e in pyworkflow.get_workflow_events(run_id)]


def still_pending(run_id: str, token: str) -> None:
    """Nothing was claimed or sent: the hook waits, the run has seen no payload."""
    assert pyworkflow.get_hook(token).status == "pending"
    seen = event_types(run_id)
    assert ev.HOOK_RECEIVED not in seen and ev.HOOK_PAYLOAD_REJECTED not in seen, seen
    assert not pyworkflow.get_workflow_run(run_id).finished


def completed_with(run_id: str, payload: dict[str, Any]) -> None:
    final = finished(run_id)
    assert final.status == "completed", final
    assert final.result == {"express": False, **payload}


def pyworkflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYWORKFLOW, *args], cwd=REPO, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


def suggested_command(token: str) -> list[str]:
    """The ``hooks resume`` command ``hooks info`` suggests, as arguments."""
    result = CliRunner().invoke(cli, ["hooks", "info", token], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "hooks resume" in line)
    return shlex.split(line.split("pyworkflow ", 1)[1])


# -- the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("module", [[], ["--module", MODULE]], ids=["no-module", "module"])
def test_hooks_resume_refuses_a_bad_payload_at_the_door(workers: Any, no_model: None,
                                                        module: list[str]) -> None:
    run_id, token = typed_run()
    command = suggested_command(token)
    assert command[:3] == ["hooks", "resume", token] and command[3] == "--payload"
    assert json.loads(command[4]) == {"address": "<address>"}  # built from the schema

    refused = pyworkflow_cli(*module, *command[:4], json.dumps(BAD))
    assert refused.returncode == 1, refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    lines = [line for line in refused.stderr.splitlines()
             if line.strip() and not line.startswith("note:")]
    assert lines[0].startswith(f"Error: payload refused by hook '{HOOK}'"), refused.stderr
    assert lines[1:] == ["  address: Field required", "  express: Input should be a valid "
                         + ("boolean, unable to interpret input" if module else "boolean")]
    still_pending(run_id, token)

    delivered = pyworkflow_cli(*module, *command)  # the suggestion, as it is
    assert delivered.returncode == 0, delivered.stderr
    completed_with(run_id, {"address": "<address>"})


# -- the HTTP endpoint -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_without_module(rt: Any) -> Iterator[Serve]:
    server = Serve("--port", "0")
    yield server
    server.stop()


def test_the_hook_server_without_a_module_refuses_a_bad_payload(
        workers: Any, server_without_module: Serve) -> None:
    run_id, token = typed_run()
    answer = post(server_without_module.url, token, json.dumps(BAD).encode())
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert HOOK in body["error"]
    assert [(e["loc"], e["msg"]) for e in body["errors"]] == [
        (["address"], "Field required"), (["express"], "Input should be a valid boolean")]
    assert "maybe" not in answer.text
    still_pending(run_id, token)
    assert post(server_without_module.url, token, json.dumps(GOOD).encode()).status_code == 202
    completed_with(run_id, GOOD)


# -- resume_hook() and aio.resume_hook() ------------------------------------------------------

def test_resume_hook_refuses_a_bad_payload_with_the_fields(workers: Any, no_model: None) -> None:
    run_id, token = typed_run()
    with pytest.raises(HookPayloadError) as refused:
        pyworkflow.resume_hook(token, BAD)
    assert isinstance(refused.value, PyWorkflowError) and refused.value.name == HOOK
    assert [tuple(e["loc"]) for e in refused.value.errors] == [("address",), ("express",)]
    with pytest.raises(HookPayloadError):
        asyncio.run(aio.resume_hook(token, {"address": 12}))
    still_pending(run_id, token)
    asyncio.run(aio.resume_hook(token, GOOD))
    completed_with(run_id, GOOD)


# -- the code changed since the schema was stored ------------------------------------------------

def test_a_payload_the_workers_model_refuses_is_rejected_and_the_run_goes_on(
        rt: Any, workers: Any, no_model: None) -> None:
    run_id, token = typed_run()
    # The schema the doors check is older and looser than the model the run waits with.
    rt.redis.hset(keys.hook(rt.settings.key_prefix, token), "schema", "{}")
    assert pyworkflow.resume_hook(token, BAD).status == "received"  # passed the door

    wait_for(lambda: ev.HOOK_PAYLOAD_REJECTED in event_types(run_id), 30, 0.05,
             "the run to reject the payload")
    wait_for(lambda: pyworkflow.get_hook(token).status == "pending", 30, 0.05,
             "the hook to be pending again")
    (rejected,) = [e for e in pyworkflow.get_workflow_events(run_id)
                   if e["type"] == ev.HOOK_PAYLOAD_REJECTED]
    assert [e["loc"] for e in rejected["data"]["errors"]] == [["address"], ["express"]]
    assert ev.HOOK_RECEIVED not in event_types(run_id)
    assert pyworkflow.get_workflow_run(run_id).status == "suspended"

    pyworkflow.resume_hook(token, GOOD)  # a new round: its message is not a repeat
    completed_with(run_id, GOOD)
    seen = event_types(run_id)
    assert seen.index(ev.HOOK_PAYLOAD_REJECTED) < seen.index(ev.HOOK_RECEIVED)
    assert pyworkflow.get_hook(token).status == "received"
