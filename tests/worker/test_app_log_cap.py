"""The app log's caps (``pyworkflow.app_log``): a run keeps its newest 1,000 lines and
says how many older ones were dropped; a line's text is cut at 64 KB."""

from __future__ import annotations

import uuid
from typing import Any

from pyworkflow import keys
from pyworkflow.app_log import MAX_LINE_BYTES, MAX_LINES, AppLogLine
from pyworkflow.worker.app_log_store import append_app_log, read_app_log


def _append(rt: Any, run_id: str, lines: list[AppLogLine]) -> int:
    """A step attempt's lines for ``run_id``, which is given a journal first (the lines
    are kept only while their run has one)."""
    run_keys = rt.system.actor_keys(run_id)
    if not rt.redis.exists(run_keys.journal):
        rt.redis.xadd(run_keys.journal, {"t": "workflow_started"})
    return int(append_app_log(rt.redis, rt.settings.key_prefix, run_id, lines, run_keys))


def _line(i: int, message: str | None = None) -> AppLogLine:
    return AppLogLine(1_800_000_000.0 + i, "info", "tests", message or f"line {i}",
                      {"step": "s", "attempt": 1, "i": i})


def test_a_run_keeps_its_newest_lines_and_counts_the_dropped(rt: Any) -> None:
    run_id = f"run-cap{uuid.uuid4().hex[:12]}"
    prefix = rt.settings.key_prefix
    _append(rt, run_id, [_line(i) for i in range(MAX_LINES)])
    _append(rt, run_id, [_line(i) for i in range(MAX_LINES, MAX_LINES + 5)])
    lines, dropped = read_app_log(rt.redis, prefix, run_id)
    assert len(lines) == MAX_LINES == 1_000
    assert dropped == 5
    assert lines[0].message == "line 5"
    assert lines[-1].message == f"line {MAX_LINES + 4}"
    assert lines[-1].fields == {"step": "s", "attempt": 1, "i": MAX_LINES + 4}
    rt.redis.delete(keys.run_app_log(prefix, run_id), rt.system.actor_keys(run_id).journal)


def test_a_long_line_is_cut_at_64_kb(rt: Any) -> None:
    run_id = f"run-cut{uuid.uuid4().hex[:12]}"
    prefix = rt.settings.key_prefix
    _append(rt, run_id, [_line(0, "x" * 200_000)])
    (line,), dropped = read_app_log(rt.redis, prefix, run_id)
    assert dropped == 0
    assert MAX_LINE_BYTES == 64 * 1024
    assert line.message.startswith("x" * 1000)
    assert len(line.message.encode()) < MAX_LINE_BYTES + 100
    assert line.message.endswith("[cut: 200000 bytes]")
    rt.redis.delete(keys.run_app_log(prefix, run_id), rt.system.actor_keys(run_id).journal)


def test_a_run_that_logged_nothing_has_no_app_log(rt: Any) -> None:
    lines, dropped = read_app_log(rt.redis, rt.settings.key_prefix, "run-never")
    assert (lines, dropped) == ([], 0)


def test_a_step_ending_after_its_run_was_purged_leaves_no_app_log(rt: Any) -> None:
    """A step attempt's lines are written after it; if its run was purged meanwhile
    (``runs purge`` of a run cancelled while the step ran), they used to make the run's
    app log again, with no expiry and in no index, for good."""
    run_id = f"run-gone{uuid.uuid4().hex[:12]}"
    prefix = rt.settings.key_prefix
    run_keys = rt.system.actor_keys(run_id)
    assert append_app_log(rt.redis, prefix, run_id, [_line(0)], run_keys) == 0
    assert rt.redis.exists(keys.run_app_log(prefix, run_id)) == 0
    rt.redis.set(run_keys.sealed, b"x")  # a sealed journal only: the run is still there
    assert append_app_log(rt.redis, prefix, run_id, [_line(1), _line(2)], run_keys) == 2
    assert [line.message for line in read_app_log(rt.redis, prefix, run_id)[0]] == [
        "line 1", "line 2"]
    rt.redis.delete(keys.run_app_log(prefix, run_id), run_keys.sealed)
