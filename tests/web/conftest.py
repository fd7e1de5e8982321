"""Shared by the web tests: real workers serving the dashboard workflows, and helpers
to start a run and wait (by polling Redis with a deadline) for what a page shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyworkflow.client import hooks
from tests._workers import Worker, wait_for, worker_pool

MODULE = "tests.web.dashboard_workflows"
#: The TestClient's address: its default Host, ``testserver``, is not one the dashboard
#: answers (only loopback names and the configured ones; see pyworkflow.web.hosts).
LOCAL = "http://localhost"


@pytest.fixture(scope="package")
def workers(rt: Any, log_dir: Path) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, log_dir, "dash", count=1, pool="prefork", concurrency=2) as pool:
        yield pool


def pending_hook(run_id: str, timeout: float = 30) -> str:
    """The token of the run's pending hook, once it exists."""
    def find() -> str | None:
        found = hooks.list_hooks(status="pending", run_id=run_id, limit=5)
        return found[0].token if found else None
    token: str = wait_for(find, timeout, message=f"a pending hook on {run_id}")
    return token
