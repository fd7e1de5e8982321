"""Debounced and singleton starts, through both client faces, on a real worker."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
import pyworkflow.client.aio as aio
from tests._workers import Worker

MODULE = "tests.flow_workflows"


def test_starts_within_the_window_make_one_run_with_the_last_arguments(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, "flow-debounce", pool="threads", concurrency=4).start()
    try:
        key = uuid.uuid4().hex[:6]
        first = pyworkflow.start("echo_after", "a", 0.0, debounce="1s", key=key)
        assert first.created
        ids = [first]
        for value in ("b", "c"):
            time.sleep(0.3)  # within the window, which begins again at each start
            ids.append(pyworkflow.start("echo_after", value, 0.0, debounce="1s", key=key))
        ids.append(asyncio.run(aio.start("echo_after", "d", 0.0, debounce="1s",
                                                    key=key)))
        assert set(ids) == {first} and not ids[1].created
        began = time.monotonic()
        assert pyworkflow.get_result(first, timeout=30) == "d"
        assert time.monotonic() - began >= 0.8  # the window ran from the last start
        later = pyworkflow.start("echo_after", "e", 0.0, debounce="0.2s", key=key)
        assert later != first and pyworkflow.get_result(later, timeout=30) == "e"
    finally:
        worker.stop()


def test_if_running_returns_the_running_run_or_cancels_it(rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, "flow-singleton", pool="threads", concurrency=4).start()
    try:
        key = uuid.uuid4().hex[:6]
        first = pyworkflow.start("echo_after", "a", 2.0, key=key, if_running="return")
        again = asyncio.run(aio.start("echo_after", "b", 0.0, key=key,
                                                 if_running="return"))
        assert again == first and not again.created
        newer = pyworkflow.start("echo_after", "c", 0.0, key=key, if_running="cancel_previous")
        assert newer != first
        assert pyworkflow.wait_for_run(first, timeout=30).status == "cancelled"
        assert pyworkflow.get_result(newer, timeout=30) == "c"
        after = pyworkflow.start("echo_after", "d", 0.0, key=key, if_running="return")
        assert after != newer and pyworkflow.get_result(after, timeout=30) == "d"
    finally:
        worker.stop()


def test_bad_keyed_starts_are_refused_before_anything_is_written(rt: Any) -> None:
    import tests.flow_workflows  # noqa: F401

    with pytest.raises(TypeError, match="key="):
        pyworkflow.start("echo_after", "a", 0.0, debounce="1s")
    with pytest.raises(ValueError, match="if_running"):
        pyworkflow.start("echo_after", "a", 0.0, key="k", if_running="wait")
    with pytest.raises(ValueError, match="duration|debounce"):
        pyworkflow.start("echo_after", "a", 0.0, key="k", debounce="soon")
    with pytest.raises(TypeError, match="not both"):
        pyworkflow.start("echo_after", "a", 0.0, key="k", debounce="1s", if_running="return")
