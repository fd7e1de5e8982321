"""Every local and transient example, and the seed README's ``--runtime local ...
--no-durable`` command, exit 0 and print their results with no Redis reachable.

Each runs as a subprocess (as a user types it, from the project root), with
``PYWORKFLOW_REDIS_URL`` pointing at a port nothing listens on: anything that
tried to reach Redis would fail or hang, so passing proves nothing did. The suite
also passes under ``unshare -n`` (no network at all).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests._workers import PYWORKFLOW, REPO

NO_REDIS = {**os.environ, "PYWORKFLOW_REDIS_URL": "redis://127.0.0.1:9/0",
            "PYWORKFLOW_BROKER_URL": "redis://127.0.0.1:9/0"}

EXAMPLES = {
    "local/durable/01_basic_workflow.py": "Order order-123 confirmed (txn-order-123)",
    "local/durable/03_retries.py": "'attempts': 3",
    "local/durable/04_long_running.py": "feedback email sent to user-456",
    "local/durable/05_event_log.py": "replays clean; result: 1.25",
    "local/durable/06_idempotency.py": "charges at the provider: 1",
    "local/durable/07_hooks.py": "'approved_by': 'alice'",
    "local/durable/08_cancellation.py": "after: cancelled | steps completed: "
                                        "['reserve_inventory', 'release_inventory']",
    "local/durable/09_child_workflows.py": "children: 2",
    "local/transient/01_quick_tasks.py": "{'words': 9, 'longest': 'quick'}",
    "local/transient/02_retries.py": "{'endpoint': '/api/data', 'attempts': 3}",
    "local/transient/03_sleep.py": "{'job_id': 'job-7', 'checks': 2}",
}

SEED_RESULT = '"confirmation": "Order order-123 confirmed (txn-order-123)"'


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=REPO, env=NO_REDIS, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_each_example_runs_from_the_project_root_and_prints_its_result(path: str) -> None:
    proc = _run([sys.executable, f"examples/{path}"])
    assert EXAMPLES[path] in proc.stdout, proc.stdout


def test_the_seed_readme_command_runs_transient_with_no_redis_and_no_worker() -> None:
    proc = _run([PYWORKFLOW, "--runtime", "local", "--module",
                 "examples.celery.durable.01_basic_workflow", "workflows", "run",
                 "order_workflow", "--arg", "order_id=order-123", "--arg", "amount=99.99",
                 "--no-durable"])
    assert "Status: completed" in proc.stdout
    assert SEED_RESULT in proc.stdout
    assert "nothing journaled" in proc.stderr


def test_runtime_local_runs_durably_in_process_and_says_the_journal_is_in_memory() -> None:
    proc = _run([PYWORKFLOW, "--runtime", "local", "--module",
                 "examples.celery.durable.01_basic_workflow", "workflows", "run",
                 "order_workflow", "--arg", "order_id=order-123", "--arg", "amount=99.99"])
    assert "in memory" in proc.stderr and "no Redis" in proc.stderr
    assert proc.stdout.count("step_completed") == 3 and "workflow_completed" in proc.stdout
    assert SEED_RESULT in proc.stdout


def test_a_durable_false_workflow_runs_transient_without_the_flag() -> None:
    proc = _run([PYWORKFLOW, "--output", "json", "--module",
                 "examples.local.transient.01_quick_tasks", "workflows", "run",
                 "word_stats_workflow", "--arg", "text=a bb ccc"])
    assert '"result": {\n    "words": 3,\n    "longest": "ccc"\n  }' in proc.stdout
