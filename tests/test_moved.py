"""Old module paths and the root's names keep working after the package was reorganised.

The four halves (``workflow_api``, ``client``, ``worker``, ``local``) replaced ~40 flat
modules; :mod:`pyworkflow._moved` maps each old path to its new home. An old path must
import as the very module at the new path (one set of globals, so a monkeypatch through
either name is seen by both), and ``from pyworkflow import ...`` must keep offering
every name it offered before the move.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import pyworkflow
from pyworkflow._moved import MOVED

#: What ``pyworkflow`` exported before the reorganisation (issue 25): all still there.
EXPORTED_BEFORE = frozenset({
    "CancellationError", "ChildWorkflowFailedError", "ChildWorkflowHandle", "FatalError",
    "HookAlreadyReceivedError", "HookExpiredError", "HookNotFoundError", "HookPayloadError",
    "IdempotencyKeyUsedError", "InvalidScheduleError", "MaxNestingDepthError",
    "NonDeterminismError", "ParentClosePolicy", "PyWorkflowError", "RetryableError",
    "RunFinishedError", "RunInfo", "RunNotFoundError", "ScheduleExistsError", "ScheduleInfo",
    "ScheduleNotFoundError", "SerializationError", "SignalTimeoutError", "StepContext",
    "StepFailedError", "StepTimeoutError", "TERMINAL_STATUSES", "TypedHook",
    "ValueNotSetError", "WorkflowFailedError", "WorkflowNotFoundError", "WorkflowTimeoutError",
    "app_key", "backfill_schedule", "cancel_workflow", "continue_as_new", "create_schedule",
    "define_hook", "delete_schedule", "deprecate_patch", "get_hook", "get_result",
    "get_schedule", "get_step_context", "get_value", "get_values", "get_workflow_events",
    "get_workflow_run", "hook", "is_replaying", "list_hooks", "list_schedules",
    "list_workflow_runs", "now", "patched", "pause_schedule", "redis_connection",
    "resume_hook", "resume_schedule", "retry_run", "run_chain", "run_local", "run_transient",
    "scheduled_workflow", "send_signal", "set_value", "shield", "sleep", "start",
    "start_child_workflow", "step", "trigger_schedule", "update_schedule", "wait_for_run",
    "wait_for_signal", "workflow",
})


def test_the_root_still_exports_every_name_it_did() -> None:
    assert EXPORTED_BEFORE <= set(pyworkflow.__all__)
    missing = [name for name in pyworkflow.__all__ if not hasattr(pyworkflow, name)]
    assert missing == []
    assert callable(pyworkflow.workflow)  # the decorator, not a subpackage


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_imports_as_the_module_at_its_new_path(old: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


def test_an_old_path_imports_first_thing_in_a_fresh_interpreter() -> None:
    code = ("import pyworkflow.local_runtime as old, pyworkflow.local.runtime as new; "
            "from pyworkflow.testing.environment import WorkflowEnvironment; "
            "from pyworkflow.aio import start; "
            "assert old is new and start.__module__ == 'pyworkflow.client.aio'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_path_not_in_the_table_is_not_invented() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("pyworkflow.no_such_module")


def test_the_root_loads_a_name_when_it_is_first_used() -> None:
    """``import pyworkflow`` loads no client (PEP 562 facade), and ``step.from_task``
    works although Celery is loaded only when a task is adopted."""
    code = """
import sys
import pyworkflow
assert [m for m in ("celery", "kombu", "redis", "pyworkflow.client") if m in sys.modules] == []
from pyworkflow import step, workflow
assert "celery" not in sys.modules, "the workflow half loaded Celery"
from celery import Celery
app = Celery("moved-probe")
@app.task(name="probe.add")
def add(a, b):
    return a + b
made = step.from_task(add)
assert made.__pyworkflow_task__.name == "probe.add"
@step
@app.task(name="probe.mul")
def mul(a, b):
    return a * b
assert mul.__pyworkflow_task__.name == "probe.mul"
assert "start" in dir(pyworkflow) and pyworkflow.start.__module__ == "pyworkflow.client.sync"
"""
    subprocess.run([sys.executable, "-c", code], check=True)
