"""``pyworkflow runs export`` of a run real workers ran writes a journal that
``pyworkflow.testing.replay`` replays clean against the same code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyworkflow.testing import replay
from tests._workers import Worker, worker_pool
from tests.cli.test_examples_cli import PACKAGE, cli, wait_done


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(PACKAGE, log_dir, "export", count=1, pool="prefork",
                     concurrency=2) as pool:
        yield pool


def _start(*args: str) -> str:
    out = cli("--module", PACKAGE, "workflows", "run", *args)
    return next(w for w in out.stdout.split() if w.startswith("run-"))


@pytest.mark.parametrize("args", [
    ("order_workflow", "--arg", "order_id=order-123", "--arg", "amount=99.99"),
    ("retry_demo_workflow", "--arg", "endpoint=/api/data", "--arg", "retry_after=0.1s"),
], ids=["steps", "retries"])
def test_an_exported_real_run_replays_clean(workers, tmp_path: Path,  # type: ignore[no-untyped-def]
                                            args: tuple[str, ...]) -> None:
    run_id = _start(*args)
    assert wait_done(run_id)["status"] == "completed"
    exported = cli("runs", "export", run_id).stdout
    path = tmp_path / "run.json"
    path.write_text(exported)
    events = json.loads(exported)
    assert events == json.loads(cli("--output", "json", "runs", "logs", run_id).stdout)
    assert events[-1]["type"] == "workflow_completed"
    replay(path)


def test_export_of_an_unknown_run_is_one_line_and_exit_1(workers) -> None:  # type: ignore[no-untyped-def]
    proc = cli("runs", "export", "run-00000000000000000000", check=False)
    assert proc.returncode == 1 and "no run" in proc.stderr and proc.stdout == ""
