"""The celery runtime's workers: real ``pyworkflow worker run`` processes serving the
conformance workflows, started once per session, and only if a celery case runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyworkflow import _runtime
from tests._workers import Worker, worker_pool

MODULE = "tests.conformance.workflows"


@pytest.fixture(scope="session")
def conformance_workers(rt: _runtime.Runtime, log_dir: Path) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, log_dir, "conf", count=2, pool="prefork", concurrency=2) as pool:
        yield pool
