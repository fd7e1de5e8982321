"""What the CLI prints: aligned tables for people, one JSON document for programs.

Why these rules:

* ``--output json`` prints exactly one JSON document on stdout, so
  ``pyworkflow -o json runs status X | jq .status`` never breaks; hints and
  progress go to stderr. :func:`keep_stdout_clean` sends log lines there too.
* Tables are plain aligned columns (no extra dependency, greppable, ``cut``-able).
* Times in tables are local wall-clock, to the second, which is what a person
  compares with their own clock; JSON keeps the raw epoch floats.
* Values in one-line renderings are compact JSON cut at a fixed width, so a
  100 kB step result does not flood a terminal; ``-o json`` has the full value.
* Run data is anyone's input (a signal's name, a step's error message): control
  characters in it are shown as ``\\xNN`` (:func:`printable`), so an escape
  sequence in a run's data can never move the cursor, retitle or clear an
  operator's terminal. JSON output escapes them as ``\\uNNNN``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from .. import events
from ..config import log_format
from ..durations import format_duration

__all__ = [
    "compact", "emit_json", "format_duration", "format_event", "format_time", "is_json", "mark",
    "keep_stdout_clean", "note", "print_fields", "print_table", "printable", "truncate",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
#: C0 controls but tab and newline, DEL, and the C1 controls (0x9b is a CSI by itself).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile("[\x7f-\x9f]")
VALUE_WIDTH = 100
_TYPE_WIDTH = len(events.WORKFLOW_COMPLETED)  # so the detail column lines up


def is_json(ctx: click.Context | None = None) -> bool:
    """Whether the root ``--output`` option asked for JSON."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj or {}
    return obj.get("output") == "json"


def keep_stdout_clean() -> None:
    """Configure logging before the runtime logs anything: ``actors.log`` writes to
    stderr outside workers, so stdout holds only the command's table or JSON."""
    from actors import log as _log

    _log.configure(fmt=log_format())


def _json_default(value: Any) -> Any:
    """Last resort for values ``to_dict()`` left typed (options may hold timedeltas)."""
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def emit_json(value: Any) -> None:
    """Print the command's one JSON document on stdout, as UTF-8 whatever the locale.

    Written as bytes: a terminal or pipe configured for another encoding (latin-1,
    ``PYTHONIOENCODING``) must not turn it into something a JSON reader refuses, and a
    lone surrogate (undecodable bytes a value brought in) becomes U+FFFD rather than
    an encoder's error halfway through the document.
    """
    text = json.dumps(value, indent=2, ensure_ascii=False, default=_json_default)
    text = _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # json escapes C0 itself
    click.echo(_SURROGATE.sub("\ufffd", text).encode("utf-8"))


def printable(text: str) -> str:
    """``text`` with every control character but tab and newline shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def note(text: str = "") -> None:
    """An informational line: stdout for people, stderr in JSON mode."""
    click.echo(printable(text), err=is_json())


def compact(value: Any) -> str:
    """One-line JSON of a value (strings stay quoted, so ``"1"`` and ``1`` differ)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "),
                          default=_json_default)
    except (TypeError, ValueError):
        return repr(value)


def truncate(text: str, width: int = VALUE_WIDTH) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis; newlines become spaces."""
    text = printable(" ".join(text.splitlines()))
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_time(timestamp: float | None, *, millis: bool = False) -> str:
    """``2026-11-26 09:30:01`` in local time; ``-`` when unknown."""
    if timestamp is None:
        return "-"
    moment = dt.datetime.fromtimestamp(float(timestamp))
    return moment.isoformat(sep=" ", timespec="milliseconds" if millis else "seconds")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else printable(str(c)) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*padded, row[-1]]).rstrip())


def print_fields(fields: Sequence[tuple[str, str]]) -> None:
    """``Label:  value`` lines; continuation lines of a value are indented under it."""
    width = max((len(label) for label, _ in fields), default=0) + 2
    for label, value in fields:
        lines = printable(str(value)).splitlines() or [""]
        click.echo(f"{label + ':':<{width}}{lines[0]}".rstrip())
        for line in lines[1:]:
            click.echo(f"{'':<{width}}{line}".rstrip())


def mark(ok: bool) -> str:
    """✓ / ✗, or OK / FAIL when the terminal cannot encode them."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "OK  " if ok else "FAIL"
    return "✓" if ok else "✗"


def _ms_time(ms: Any) -> str:
    return format_time(ms / 1000.0) if isinstance(ms, int | float) else "?"


def _step_detail(kind: str, data: Mapping[str, Any]) -> list[str]:
    parts = [str(data.get("step", "?"))]
    if data.get("attempt") is not None:
        parts.append(f"attempt {data['attempt']}")
    if kind == events.STEP_COMPLETED:
        parts.append(f"-> {compact(data.get('result'))}")
    elif kind == events.STEP_FAILED:
        parts.append(f"{data.get('error_type', 'Error')}: {data.get('error', '')}")
        if data.get("will_retry"):
            parts.append(f"(retry at {_ms_time(data.get('retry_at_ms'))})")
        elif "will_retry" in data:
            parts.append("(no more retries)")
    return parts


def _detail(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The human part of an event line; unknown types show their data compactly."""
    if kind.startswith("step_") and "step" in data:
        return _step_detail(kind, data)
    if kind == events.WORKFLOW_STARTED and "workflow" in data:
        args = [compact(a) for a in data.get("args") or []]
        args += [f"{k}={compact(v)}" for k, v in (data.get("kwargs") or {}).items()]
        return [f"{data['workflow']}({', '.join(args)})"]
    if kind == events.SLEEP_STARTED:
        wake = _ms_time(data.get("wake_at_ms"))
        return [f"{format_duration(data.get('duration_s'))}, until {wake}"]
    if kind == events.WORKFLOW_COMPLETED:
        return [f"-> {compact(data.get('result'))}"]
    if kind == events.WORKFLOW_FAILED:
        return [f"{data.get('error_type', 'Error')}: {data.get('error', '')}"]
    message = _message_detail(kind, data)
    if message is not None:
        return message
    rest = {k: v for k, v in data.items() if k != "call_id"}  # call_id is internal
    return [compact(rest)] if rest else []


def _message_detail(kind: str, data: Mapping[str, Any]) -> list[str] | None:
    """Signals, published values and patch markers, as a person reads them."""
    name = str(data.get("name", "?"))
    if kind in (events.SIGNAL_RECEIVED, events.SIGNAL_DELIVERED):
        return [name, f"<- {compact(data.get('payload'))}"]
    if kind == events.SIGNAL_WAIT_STARTED:
        timeout = data.get("timeout_s")
        return [name] + ([f"timeout {format_duration(timeout)}"] if timeout is not None else [])
    if kind == events.SIGNAL_TIMED_OUT:
        return [name]
    if kind == events.VALUE_SET:
        return [f"{data.get('key', '?')} = {compact(data.get('value'))}"]
    if kind == events.PATCH_MARKED:
        return [str(data.get("change_id", "?"))]
    return None


def format_event(event: Mapping[str, Any], width: int = VALUE_WIDTH) -> str:
    """``  3  2026-11-26 09:30:01  step_completed      validate_order  attempt 1  -> {...}``."""
    kind = str(event.get("type", "?"))
    data = event.get("data") or {}
    when = format_time(event.get("timestamp"))
    head = f"{event.get('seq', '?'):>3}  {when}  {kind:<{_TYPE_WIDTH}}"
    detail = "  ".join(_detail(kind, data if isinstance(data, Mapping) else {"data": data}))
    return f"{head}  {truncate(detail, width)}".rstrip()
