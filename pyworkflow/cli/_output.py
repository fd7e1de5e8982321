"""What the CLI prints: aligned tables for people, one JSON document for programs.

Why these rules:

* ``--output json`` prints exactly one JSON document on stdout, so
  ``pyworkflow -o json runs status X | jq .status`` never breaks; hints and
  progress go to stderr. :func:`keep_stdout_clean` sends log lines there too.
* Tables are plain aligned columns (no extra dependency, greppable, ``cut``-able).
* Times are ISO 8601 UTC to the millisecond (``2026-12-07T00:14:41.248Z``): one
  form in every table and log line, whatever the machine's zone, sortable and
  unambiguous. Where a person reads a single time (``runs status``),
  :func:`format_time_local` puts the local time beside it, labelled. JSON keeps the
  raw epoch floats.
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
from collections.abc import Sequence
from typing import Any

import click

from ..config import log_format
from ..durations import format_duration
from ..event_text import iso_utc, local_label

__all__ = [
    "compact", "emit_json", "format_duration", "format_time",
    "format_time_local", "is_json", "mark",
    "keep_stdout_clean", "note", "print_fields", "print_table", "printable", "truncate",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
#: C0 controls but tab and newline, DEL, and the C1 controls (0x9b is a CSI by itself).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile("[\x7f-\x9f]")
VALUE_WIDTH = 100


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


def format_time(timestamp: float | None) -> str:
    """``2026-12-07T00:14:41.248Z`` (UTC); ``-`` when unknown."""
    return iso_utc(timestamp)


def format_time_local(timestamp: float | None) -> str:
    """``2026-12-07T00:14:41.248Z (local 01:14:41 +01:00)``; ``-`` when unknown."""
    if timestamp is None:
        return "-"
    return f"{iso_utc(timestamp)} ({local_label(timestamp)})"


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

