"""Logging: every line through structlog, bound to the actor it concerns.

Small processors in a chain (structlog's way): context variables carry
``actor_id``/``turn``/``seq``/``kind`` across a turn, so nothing threads a logger
through calls. Output is readable on a terminal and JSON lines when asked
(``configure(fmt="json")``, else ``ACTORS_LOG_FORMAT=json``) or when the stream is
not a TTY. The runtime reads only its own ``ACTORS_*`` names: a product built on it
maps its own settings onto ``configure``'s arguments. Standard-library logging
(Celery's, Kombu's) is routed through the same chain, so a worker prints one kind of
line.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

from .redaction import redact

__all__ = ["configure", "get_logger", "redact"]

_configured = False


def _redact_credentials(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Every string of a line, the rendered traceback included, through one redactor.

    It runs after ``format_exc_info``: an exception's text (a connection error
    quoting its URL) is as much a leak as the event itself.
    """
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
        elif isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            event_dict[key] = type(value)(redact(v) if isinstance(v, str) else v for v in value)
    return event_dict


#: The runtime's own setting for the line format (``auto``, ``json``, ``console``), read
#: when ``configure`` is not given one.
FORMAT_ENV = "ACTORS_LOG_FORMAT"


def _wants_json(fmt: str | None, stream: Any) -> bool:
    fmt = (fmt or os.environ.get(FORMAT_ENV) or "auto").lower()
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    return not stream.isatty()


def configure(fmt: str | None = None, level: str | int = "INFO", force: bool = False,
              stream: Any = None) -> None:
    """Configure structlog and route stdlib logging through it. Idempotent.

    Logs go to stderr unless ``stream`` says otherwise (a worker logs to stdout), so a
    command's own output on stdout (``--output json``) stays machine-readable.
    ``fmt``: ``json``, ``console`` or ``auto`` (JSON unless the stream is a terminal);
    None reads ``ACTORS_LOG_FORMAT``.
    """
    global _configured
    if _configured and not force:
        return
    _configured = True
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
        if not isinstance(level, int):
            level = logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become text here, in both formats, so the redactor sees them.
        structlog.processors.format_exc_info,
        _redact_credentials,
    ]
    renderer: Any
    out = stream or sys.stderr
    if _wants_json(fmt, out):
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty(),
                                                 exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        # filter_by_level first: a debug line below the level costs one check, not a
        # run through the whole chain.
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "celery.redirected"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
