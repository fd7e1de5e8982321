"""A run's history on a terminal: ``runs logs`` lines and ``runs status``'s root cause.

Why these rules:

* One event, one line: seq, UTC time, type, call id (``#3``: parallel calls of one
  step differ only by it), then the fields :mod:`pyworkflow.event_text` picks for its
  type. A failed step's (or workflow's) traceback follows, indented, so the cause is
  read where it happened instead of only in ``-o json``.
* Lines are cut only for a person at a terminal (stdout a TTY, and not ``--wide``), to
  its width; piped into ``grep``, a file or ``less`` they are whole.
* Every piece of run data goes through :func:`~._output.printable`: an escape sequence
  in a step's error can never drive the operator's terminal.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..durations import format_duration
from ..event_text import EventReader, EventView, StepAttempt, own_frames
from . import _output as out

__all__ = ["TRACEBACK_INDENT", "attempts_text", "event_lines", "line_width", "root_cause"]

#: A traceback's lines start under the event's type column.
TRACEBACK_INDENT = " " * 7
_TYPE_WIDTH = 18  # len("workflow_completed"): longer types push their line, once
_CALL_WIDTH = 4


def line_width(wide: bool) -> int | None:
    """Where to cut lines: the terminal's width on a TTY, else nowhere."""
    if wide or not sys.stdout.isatty():
        return None
    return max(40, shutil.get_terminal_size((120, 24)).columns)


def _cut(text: str, width: int | None) -> str:
    text = out.printable(text)
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def event_lines(view: EventView, *, width: int | None = None,
                tracebacks: bool = True) -> list[str]:
    """The event's line, then its traceback's lines (indented) when it has one."""
    call = f"#{view.call_id}" if view.call_id is not None else ""
    head = (f"{view.seq:>3}  {view.when}  {view.type:<{_TYPE_WIDTH}}  "
            f"{call:<{_CALL_WIDTH}}  {' '.join(view.detail().splitlines())}")
    lines = [_cut(head.rstrip(), width)]
    if tracebacks and view.same_traceback_as is not None:
        lines.append(_cut(f"{TRACEBACK_INDENT}(traceback as at seq {view.same_traceback_as})",
                          width))
    elif tracebacks and view.traceback:
        lines += [_cut(TRACEBACK_INDENT + line, width) for line in view.traceback.splitlines()]
    return lines


def attempts_text(calls: Iterable[tuple[int, str, int | None, list[StepAttempt]]]) -> str:
    """Per step call, one line per attempt: start (UTC), duration and outcome."""
    rows: list[str] = []
    for call_id, step, most, attempts in calls:
        for i, a in enumerate(attempts):
            label = f"#{call_id} {step}" if i == 0 else ""
            took = format_duration(a.ended - a.started) if a.ended is not None else "-"
            outcome = f"failed: {a.error}" if a.outcome == "failed" else a.outcome
            of = f"/{most}" if most else ""
            rows.append(f"{label}\t{a.attempt}{of}\t{out.format_time(a.started)}\t{took}"
                        f"\t{outcome}")
    return _columns(rows)


def _columns(rows: list[str]) -> str:
    """Tab-separated cells aligned into columns (the last one not padded)."""
    cells = [r.split("\t") for r in rows]
    if not cells:
        return ""
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)),
                                r[-1]]).rstrip() for r in cells)


def root_cause(reader: EventReader) -> str | None:
    """What made the run fail, read from its journal: the last failed step's error and
    its own traceback (the step's code, not the workflow's ``await``); else the
    ``workflow_failed`` event's traceback."""
    failed = reader.last_step_failure
    if failed is not None:
        head = (f"step {failed.get('step', '?')} (#{failed.get('call_id', '?')}), attempt "
                f"{failed.get('attempt', '?')}: {failed.get('error_type', 'Error')}: "
                f"{failed.get('error', '')}")
        trace = failed.get("traceback")
        if isinstance(trace, str) and trace.strip():
            return f"{head}\n{own_frames(trace.rstrip())}"
        why = "its worker was lost" if failed.get("worker_lost") else "none recorded"
        return f"{head}\n(no traceback: {why})"
    ended = reader.workflow_failure
    if ended is not None and isinstance(ended.get("traceback"), str) and ended["traceback"]:
        return str(ended["traceback"]).rstrip()
    return None


def format_event(event: Mapping[str, Any], width: int | None = None) -> str:
    """One event's line as ``runs logs`` prints it (without its traceback), read alone:
    for callers that print events one at a time (``workflows run --wait``)."""
    return event_lines(EventReader().read(event), width=width, tracebacks=False)[0]
