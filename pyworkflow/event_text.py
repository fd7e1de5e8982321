"""A run's events as a person reads them: shared by ``pyworkflow runs logs``,
``runs status`` and the dashboard's event log, so the three say the same thing.

Why it exists: the journal holds each event's raw data (a step's traceback as one
string, a child's id inside a JSON object, epochs); what an operator asks is *which
call*, *what happened to it*, *how long it took* and *why it failed*. Reading events
in order, :class:`EventReader` keeps per call what a later event needs (when the
current attempt was dispatched, how many attempts the step has), so a
``step_completed`` line can say how long its attempt took.

Times are ISO 8601 UTC to the millisecond (``2026-12-07T00:14:41.248Z``); where a
person reads one beside their own clock, :func:`local_label` adds the local time,
labelled (``local 01:14:41 +01:00``, with the date when it differs from the UTC one).
The dashboard's script writes the same two forms.

Pure: no Redis, no I/O; values are rendered whole (callers cut for a terminal).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .durations import format_duration

__all__ = ["EventReader", "EventView", "StepAttempt", "iso_utc", "iso_utc_ms", "local_label",
           "own_frames", "value_text"]

#: Events that dispatch a step attempt: its duration runs from here to its end.
_ATTEMPT_STARTS = frozenset({ev.STEP_SCHEDULED, ev.STEP_RETRYING, ev.STEP_REDISPATCHED})


def iso_utc(timestamp: float | None) -> str:
    """``2026-12-07T00:14:41.248Z``; ``-`` when unknown."""
    if timestamp is None:
        return "-"
    moment = dt.datetime.fromtimestamp(float(timestamp), dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_utc_ms(ms: Any) -> str:
    """:func:`iso_utc` of an epoch in milliseconds (the engine's ``*_ms`` fields)."""
    return iso_utc(ms / 1000.0) if isinstance(ms, int | float) else "?"


def local_label(timestamp: float | None) -> str:
    """``local 01:14:41 +01:00`` (the date too when it is not the UTC date); ``""``
    when unknown."""
    if timestamp is None:
        return ""
    utc = dt.datetime.fromtimestamp(float(timestamp), dt.UTC)
    local = utc.astimezone()
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if len(offset) == 5 else offset
    day = "" if local.date() == utc.date() else local.strftime("%Y-%m-%d ")
    return f"local {day}{local.strftime('%H:%M:%S')} {offset}".rstrip()


def value_text(value: Any) -> str:
    """A value in one line: a string as itself (an id is never shown quoted), anything
    else as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return repr(value)


def _json(value: Any) -> str:
    """Compact JSON, strings quoted: for results and payloads, where ``"1"`` and ``1``
    differ."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return repr(value)


@dataclass
class StepAttempt:
    """One attempt of a step call: when it was dispatched, how it ended."""

    attempt: int
    started: float
    ended: float | None = None
    outcome: str = "running"  # running, completed, failed
    error: str = ""


@dataclass
class EventView:
    """One event, rendered: the parts a log line or a table row shows."""

    seq: int | str
    timestamp: float | None
    type: str
    call_id: int | None
    fields: list[str]
    #: Seconds from the attempt's dispatch to this end (step_completed / step_failed).
    took: float | None = None
    #: A failed step's or workflow's traceback, shown under the line.
    traceback: str | None = None
    #: The seq of an earlier failure of the same call with this very traceback (a
    #: retried step failing the same way): a log says so instead of repeating it.
    same_traceback_as: int | str | None = None

    @property
    def when(self) -> str:
        return iso_utc(self.timestamp)

    def parts(self) -> list[str]:
        """The fields after the call id, a step's duration after its attempt."""
        parts = list(self.fields)
        if self.took is not None:
            parts.insert(min(2, len(parts)), f"took {format_duration(self.took)}")
        return [p for p in parts if p]

    def detail(self) -> str:
        """:meth:`parts` two spaces apart."""
        return "  ".join(self.parts())


@dataclass
class _Call:
    name: str
    max_attempts: int | None = None
    attempts: list[StepAttempt] = field(default_factory=list)


class EventReader:
    """Reads a run's events oldest first (each once) and renders each one.

    Feed it every event, including those a filter hides: a ``step_failed`` line needs
    the ``step_scheduled`` or ``step_retrying`` before it to know its duration.
    """

    def __init__(self) -> None:
        self.steps: dict[int, _Call] = {}
        #: The last ``step_failed`` data read, and the ``workflow_failed`` one.
        self.last_step_failure: dict[str, Any] | None = None
        self.workflow_failure: dict[str, Any] | None = None
        self._tracebacks: dict[tuple[int | None, str], int | str] = {}

    def read(self, event: Mapping[str, Any]) -> EventView:
        kind = str(event.get("type", "?"))
        raw = event.get("data")
        data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"data": raw}
        ts = event.get("timestamp")
        timestamp = float(ts) if isinstance(ts, int | float) else None
        call_id = data.get("call_id")
        call = call_id if isinstance(call_id, int) and not isinstance(call_id, bool) else None
        view = EventView(event.get("seq", "?"), timestamp, kind, call, _fields(kind, data))
        if kind.startswith("step_") and call is not None:
            self._step(view, data)
        if kind == ev.STEP_FAILED:
            self.last_step_failure = {**data}
            trace = _text_or_none(data.get("traceback"))
            view.traceback = own_frames(trace) if trace else None
        elif kind == ev.WORKFLOW_FAILED:
            self.workflow_failure = {**data}
            view.traceback = _text_or_none(data.get("traceback"))
        if view.traceback is not None:
            view.same_traceback_as = self._tracebacks.setdefault(
                (call, view.traceback), view.seq)
            if view.same_traceback_as == view.seq:
                view.same_traceback_as = None
        return view

    def _step(self, view: EventView, data: Mapping[str, Any]) -> None:
        """Keep the call's attempts; give an end its duration and ``attempt n/max``."""
        assert view.call_id is not None
        call = self.steps.setdefault(view.call_id, _Call(str(data.get("step", "?"))))
        if isinstance(data.get("max_attempts"), int):
            call.max_attempts = data["max_attempts"]
        attempt = data.get("attempt") if isinstance(data.get("attempt"), int) else None
        if attempt is not None and call.max_attempts and len(view.fields) > 1:
            view.fields[1] = f"attempt {attempt}/{call.max_attempts}"
        if view.type in _ATTEMPT_STARTS and view.timestamp is not None:
            if view.type == ev.STEP_REDISPATCHED and call.attempts \
                    and call.attempts[-1].attempt == attempt:
                return  # the same attempt sent again: it began at its first dispatch
            call.attempts.append(StepAttempt(attempt or len(call.attempts) + 1, view.timestamp))
        elif view.type in (ev.STEP_COMPLETED, ev.STEP_FAILED) and call.attempts:
            current = call.attempts[-1]
            if view.timestamp is not None:
                current.ended = view.timestamp
                view.took = max(0.0, view.timestamp - current.started)
            current.outcome = "completed" if view.type == ev.STEP_COMPLETED else "failed"
            if view.type == ev.STEP_FAILED:
                current.error = f"{data.get('error_type', 'Error')}: {data.get('error', '')}"

    def step_calls(self) -> list[tuple[int, str, int | None, list[StepAttempt]]]:
        """Every step call read: ``(call id, step, max attempts, attempts)``."""
        return [(cid, c.name, c.max_attempts, c.attempts) for cid, c in self.steps.items()]


def _text_or_none(value: Any) -> str | None:
    return value.rstrip() if isinstance(value, str) and value.strip() else None


#: Files of the frames a step's traceback opens with, the runtime calling the step
#: (``step_task.run_step``, ``step_timeout.run_body``, a local run's step runner,
#: ``asyncio.run``...): the same in every failure, not the step's code.
_CALLER_FRAMES = re.compile(
    r'^  File ".*(/pyworkflow/worker/|/pyworkflow/local/|/pyworkflow/step_timeout\.py|'
    r'/asyncio/)[^"]*", line \d+')
_HEADER = "Traceback (most recent call last):"


def own_frames(traceback: str) -> str:
    """A step's traceback from its own code on: the worker's and asyncio's frames
    that call the step are left out, with a line saying how many (``-o json`` and the
    raw event keep them). Each block of a chained traceback is treated alike."""
    lines = traceback.splitlines()
    kept: list[str] = []
    i = 0
    while i < len(lines):
        kept.append(lines[i])
        i += 1
        if kept[-1] != _HEADER:
            continue
        skipped = 0
        while i < len(lines) and _CALLER_FRAMES.match(lines[i]):
            i += 1
            skipped += 1
            while i < len(lines) and lines[i].startswith("    "):
                i += 1  # the frame's source line and its ^^^ marks
        if skipped and i < len(lines) and lines[i].startswith("  File "):
            kept.append(f"  ({skipped} frames of the worker calling the step left out)")
        elif skipped:  # nothing of the step's own: keep the traceback as it was
            return traceback.rstrip()
    return "\n".join(kept)


def _fields(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The fields that matter for this type of event, in reading order."""
    if kind.startswith("step_") and "step" in data:
        return _step_fields(kind, data)
    for group in (_run_fields, _wait_fields, _message_fields):
        found = group(kind, data)
        if found is not None:
            return found
    return [f"{k}={value_text(v)}" for k, v in data.items() if k != "call_id"]


def _error(data: Mapping[str, Any]) -> str:
    return f"{data.get('error_type', 'Error')}: {data.get('error', '')}"


def _step_fields(kind: str, data: Mapping[str, Any]) -> list[str]:
    parts = [str(data["step"]), f"attempt {data.get('attempt', '?')}"]
    if kind == ev.STEP_SCHEDULED:
        args = [_json(a) for a in data.get("args") or []]
        args += [f"{k}={_json(v)}" for k, v in (data.get("kwargs") or {}).items()]
        parts.append(f"({', '.join(args)})")
    elif kind == ev.STEP_COMPLETED:
        parts.append(f"-> {_json(data.get('result'))}")
    elif kind == ev.STEP_FAILED:
        parts.append(_error(data))
        if data.get("worker_lost"):
            parts.append("(worker lost)")
        if data.get("will_retry"):
            parts.append(f"(retry at {iso_utc_ms(data.get('retry_at_ms'))})")
        elif data.get("fatal"):
            parts.append("(fatal: no retry)")
        elif "will_retry" in data:
            parts.append("(no more retries)")
    return parts


def _run_fields(kind: str, data: Mapping[str, Any]) -> list[str] | None:
    """The run's own life: start, end, cancel, park, recovery, operator retries."""
    if kind in (ev.WORKFLOW_STARTED, ev.WORKFLOW_CONTINUED_AS_NEW) and "workflow" in data:
        args = [_json(a) for a in data.get("args") or []]
        args += [f"{k}={_json(v)}" for k, v in (data.get("kwargs") or {}).items()]
        call = f"{data['workflow']}({', '.join(args)})"
        if kind == ev.WORKFLOW_CONTINUED_AS_NEW:
            return [f"continued to {value_text(data.get('continued_to', '?'))}", call]
        return [call]
    if kind == ev.WORKFLOW_COMPLETED:
        return [f"-> {_json(data.get('result'))}"]
    if kind == ev.WORKFLOW_FAILED:
        return [_error(data)]
    if kind in (ev.CANCEL_REQUESTED, ev.WORKFLOW_CANCELLED):
        reason = data.get("reason")
        parts = [f"reason: {value_text(reason)}" if reason else "no reason given"]
        if data.get("force"):
            parts.append("(forced)")
        if data.get("timed_out"):
            parts.append("(max_duration passed)")
        return parts
    if kind == ev.WORKFLOW_PARKED:
        return [_error({"error_type": data.get("error_type"), "error": data.get("reason")})]
    return None


def _wait_fields(kind: str, data: Mapping[str, Any]) -> list[str] | None:
    """Sleeps, hooks and children: what the run waits on, and how each wait ended."""
    if kind == ev.SLEEP_STARTED:
        return [format_duration(data.get("duration_s")),
                f"until {iso_utc_ms(data.get('wake_at_ms'))}"]
    if kind == ev.SLEEP_COMPLETED:
        return []
    if kind.startswith("hook_"):
        parts = [f"hook {value_text(data.get('name', '?'))}"]
        if data.get("token"):
            parts.append(f"token {value_text(data['token'])}")
        if kind == ev.HOOK_RECEIVED:
            parts.append(f"<- {_json(data.get('payload'))}")
        elif kind == ev.HOOK_PAYLOAD_REJECTED:
            parts.append(f"rejected: {value_text(data.get('errors', data.get('error', '?')))}")
        return parts
    if kind.startswith("child_"):
        parts = [f"child {value_text(data.get('child_run_id', '?'))}",
                 f"workflow {value_text(data.get('workflow', '?'))}"]
        if kind == ev.CHILD_COMPLETED:
            parts.append(f"-> {_json(data.get('result'))}")
        elif kind == ev.CHILD_FAILED:
            parts.append(f"{value_text(data.get('status', 'failed'))}: {_error(data)}")
        elif kind == ev.CHILD_STARTED and data.get("wait") is False:
            parts.append("(not awaited)")
        return parts
    if kind == ev.WAIT_CANCELLED:
        return [f"{value_text(data.get('kind', 'wait'))} interrupted by the cancel"]
    if kind == ev.SLOT_WAITING:  # its start message is not shown: the run's args are
        return [value_text(data.get("key") or data.get("limit", "?")),
                f"{data.get('held', '?')} of {data.get('max', '?')} held"]
    return None


def _message_detail_name(data: Mapping[str, Any]) -> str:
    return f"signal {value_text(data.get('name', '?'))}"


def _message_fields(kind: str, data: Mapping[str, Any]) -> list[str] | None:
    """Signals, published values and patch markers."""
    if kind in (ev.SIGNAL_RECEIVED, ev.SIGNAL_DELIVERED):
        return [_message_detail_name(data), f"<- {_json(data.get('payload'))}"]
    if kind == ev.SIGNAL_WAIT_STARTED:
        timeout = data.get("timeout_s")
        return [_message_detail_name(data)] + (
            [f"timeout {format_duration(timeout)}"] if timeout is not None else [])
    if kind == ev.SIGNAL_TIMED_OUT:
        return [_message_detail_name(data)]
    if kind == ev.VALUE_SET:
        return [f"{value_text(data.get('key', '?'))} = {_json(data.get('value'))}"]
    if kind == ev.PATCH_MARKED:
        return [value_text(data.get("change_id", "?"))]
    return None
