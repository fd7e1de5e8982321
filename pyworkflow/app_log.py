"""A run's own log lines: what app code logged, kept beside the run, capped.

The worker's log holds every line of every run, interleaved; an operator looking at
one run wants that run's lines (``pyworkflow runs logs RUN --app``, the dashboard's
"App logs"). So lines logged while a run's code runs are also *captured*: a
:class:`CaptureHandler` on the root logger copies each record emitted while a
capture buffer is set in the current context (``capturing``) into that buffer as
an :class:`AppLogLine`, and the runtime writes the buffer to the run's capped
stream in one go (after a step attempt; riding on the turn's commit for workflow
code). What is captured:

* in a step attempt: every record at or above the worker's level, structlog or
  stdlib, logged in the attempt's context (a thread the step starts itself does not
  inherit it);
* in workflow code: only lines of ``pyworkflow.get_logger()``, and only when the
  code runs live (a replay captures nothing, as it logs nothing).

Caps (why: one chatty run must not fill Redis): a line's text is cut to
:data:`MAX_LINE_BYTES`, and the stream keeps the newest :data:`MAX_LINES`; older
lines are trimmed and counted as dropped.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.redaction import redact

__all__ = ["MAX_LINES", "MAX_LINE_BYTES", "AppLogLine", "CaptureHandler", "capturing"]

#: Lines kept per run (the newest; the oldest are trimmed and counted as dropped).
MAX_LINES = 1_000
#: Bytes of one line's text (message and fields, UTF-8) past which it is cut short.
MAX_LINE_BYTES = 64 * 1024
#: Keys a line never repeats in its fields: the run's context (the stream is the run's)
#: and what the line has its own place for.
_OWN_KEYS = frozenset({"event", "level", "logger", "timestamp", "run_id", "workflow",
                       "_record", "_from_structlog", "exc_info", "stack_info"})


def _cut(text: str, limit: int) -> str:
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore") + f"... [cut: {len(raw)} bytes]"


@dataclass(frozen=True)
class AppLogLine:
    """One captured line: when (seconds since the epoch), level, logger, message, and
    its other fields (``step``, ``attempt``, what the call passed)."""

    ts: float
    level: str
    logger: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, record: logging.LogRecord) -> AppLogLine:
        """The line of a record: a structlog event dict (already redacted by the chain)
        or a stdlib record (redacted here)."""
        fields: dict[str, Any] = {}
        if isinstance(record.msg, dict):
            data = record.msg
            message = str(data.get("event", ""))
            # What the context bound (the runtime's turn, the run) is not the line's own;
            # where it was logged (step, attempt) is.
            bound = set(structlog.contextvars.get_contextvars()) - {"step", "attempt"}
            fields = {k: v for k, v in data.items() if k not in _OWN_KEYS | bound}
            if "exception" in data:
                fields["exception"] = data["exception"]
        else:
            message = redact(record.getMessage())
            if record.exc_info:
                fields["exception"] = redact(logging.Formatter().formatException(
                    record.exc_info))
            for key in ("step", "attempt"):
                value = _context_value(key)
                if value is not None:
                    fields[key] = value
        return cls(record.created, record.levelname.lower(), record.name, message, fields)

    def to_stream(self) -> dict[str, str]:
        """The fields of its stream entry; message and fields cut to the line cap."""
        text = json.dumps(self.fields, default=repr, separators=(",", ":"))
        budget = max(MAX_LINE_BYTES - len(self.message.encode("utf-8", "replace")), 0)
        fields_text = text if len(text.encode()) <= budget else json.dumps(
            {"cut": _cut(text, max(budget, 256))})
        return {"ts": repr(self.ts), "level": self.level, "logger": self.logger,
                "message": _cut(self.message, MAX_LINE_BYTES), "fields": fields_text}

    @classmethod
    def from_stream(cls, raw: dict[Any, Any]) -> AppLogLine:
        get = {(k.decode() if isinstance(k, bytes) else k):
               (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
               for k, v in raw.items()}
        try:
            fields = json.loads(get.get("fields") or "{}")
        except ValueError:
            fields = {"fields": get.get("fields")}
        return cls(float(get.get("ts") or 0), get.get("level", ""), get.get("logger", ""),
                   get.get("message", ""), fields if isinstance(fields, dict) else {})

    def to_dict(self) -> dict[str, Any]:
        return {"ts": self.ts, "level": self.level, "logger": self.logger,
                "message": self.message, "fields": self.fields}


def _context_value(key: str) -> Any:
    """A value bound with ``structlog.contextvars`` in this context (None if unbound)."""
    return structlog.contextvars.get_contextvars().get(key)


_buffer: contextvars.ContextVar[list[AppLogLine] | None] = contextvars.ContextVar(
    "pyworkflow_app_log_buffer", default=None)


@contextlib.contextmanager
def capturing(buffer: list[AppLogLine]) -> Iterator[list[AppLogLine]]:
    """Records emitted in this context (and tasks it starts) are appended to ``buffer``."""
    token = _buffer.set(buffer)
    try:
        yield buffer
    finally:
        _buffer.reset(token)


class CaptureHandler(logging.Handler):
    """On the root logger of a worker: copies records emitted under ``capturing``.

    Never raises into the app's code (a line that cannot be read is skipped) and
    costs one context-variable read per record outside a run's code.
    """

    def emit(self, record: logging.LogRecord) -> None:
        buffer = _buffer.get()
        if buffer is None:
            return
        try:
            buffer.append(AppLogLine.of(record))
        except Exception:  # noqa: BLE001 - a log line must never fail the step
            return


def install_capture(root: logging.Logger | None = None) -> None:
    """Add the capture handler to the root logger once (a worker, after its logging is
    configured: ``configure`` replaces the root's handlers)."""
    root = root or logging.getLogger()
    if not any(isinstance(h, CaptureHandler) for h in root.handlers):
        root.addHandler(CaptureHandler())
