"""The celery runtime's workers: real ``pyworkflow worker run`` processes serving the
conformance workflows, started once for the suite's module, and only if a celery case
runs. Module-scoped, not session-scoped: workers left running would take the turns and
steps of the tests that follow (same key prefix, same queues) without their workflows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyworkflow.worker import _runtime
from tests._workers import Worker, worker_pool

MODULE = "tests.conformance.workflows"


@pytest.fixture(scope="module")
def conformance_workers(rt: _runtime.Runtime, log_dir: Path) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, log_dir, "conf", count=2, pool="prefork", concurrency=2,
                     queues="default,conf") as pool:
        yield pool
