"""Fixtures of the worker tests: a partition's links (``tests/_partition.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.chaos.partition import Partition, partition


@pytest.fixture()
def cut_off(redis_env: dict[str, str]) -> Iterator[Partition]:
    """Links to the session's Redis for one isolated worker, closed after the test."""
    with partition(redis_env["PYWORKFLOW_REDIS_URL"]) as part:
        yield part
