"""The app log's caps (``pyworkflow.app_log``): a run keeps its newest 1,000 lines and
says how many older ones were dropped; a line's text is cut at 64 KB."""

from __future__ import annotations

import uuid
from typing import Any

from pyworkflow import keys
from pyworkflow.app_log import MAX_LINE_BYTES, MAX_LINES, AppLogLine
from pyworkflow.worker.app_log_store import append_app_log, read_app_log


def _line(i: int, message: str | None = None) -> AppLogLine:
    return AppLogLine(1_800_000_000.0 + i, "info", "tests", message or f"line {i}",
                      {"step": "s", "attempt": 1, "i": i})


def test_a_run_keeps_its_newest_lines_and_counts_the_dropped(rt: Any) -> None:
    run_id = f"run-cap{uuid.uuid4().hex[:12]}"
    prefix = rt.settings.key_prefix
    append_app_log(rt.redis, prefix, run_id, [_line(i) for i in range(MAX_LINES)])
    append_app_log(rt.redis, prefix, run_id, [_line(i) for i in range(MAX_LINES, MAX_LINES + 5)])
    lines, dropped = read_app_log(rt.redis, prefix, run_id)
    assert len(lines) == MAX_LINES == 1_000
    assert dropped == 5
    assert lines[0].message == "line 5"
    assert lines[-1].message == f"line {MAX_LINES + 4}"
    assert lines[-1].fields == {"step": "s", "attempt": 1, "i": MAX_LINES + 4}
    rt.redis.delete(keys.run_app_log(prefix, run_id))


def test_a_long_line_is_cut_at_64_kb(rt: Any) -> None:
    run_id = f"run-cut{uuid.uuid4().hex[:12]}"
    prefix = rt.settings.key_prefix
    append_app_log(rt.redis, prefix, run_id, [_line(0, "x" * 200_000)])
    (line,), dropped = read_app_log(rt.redis, prefix, run_id)
    assert dropped == 0
    assert MAX_LINE_BYTES == 64 * 1024
    assert line.message.startswith("x" * 1000)
    assert len(line.message.encode()) < MAX_LINE_BYTES + 100
    assert line.message.endswith("[cut: 200000 bytes]")
    rt.redis.delete(keys.run_app_log(prefix, run_id))


def test_a_run_that_logged_nothing_has_no_app_log(rt: Any) -> None:
    lines, dropped = read_app_log(rt.redis, rt.settings.key_prefix, "run-never")
    assert (lines, dropped) == ([], 0)
