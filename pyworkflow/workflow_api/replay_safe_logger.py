"""``get_logger()``: a logger for workflow code that logs each line once per run.

Workflow code re-runs from the start whenever a worker rebuilds a run from its
journal (a cache miss, another worker taking over, a restart): a plain ``logging``
or structlog call there logs again on every such replay. This logger's methods do
nothing while the run is replaying (``is_replaying()``) and log normally once the
code runs live, so a line appears once. Lines logged live are also kept in the run's
app log (``pyworkflow runs logs RUN --app``; see :mod:`pyworkflow.app_log`).

In a step (steps never replay) and outside any run, it is a plain structlog logger.
Either way the line carries the run's context (``run_id``, ``workflow``; ``step`` and
``attempt`` in a step), bound by the engine, not passed by the caller.
"""

from __future__ import annotations

from typing import Any

import structlog

from ..app_log import capturing
from ..engine import in_workflow

__all__ = ["ReplaySafeLogger", "get_logger"]

#: The logger's name when none is given: where app lines come from, in the worker's log.
DEFAULT_NAME = "pyworkflow.app"


class ReplaySafeLogger:
    """structlog's call shape (``log.info("event", key=value)``), silent on replay."""

    def __init__(self, name: str, bound: dict[str, Any] | None = None) -> None:
        self.name = name
        self._bound = dict(bound or {})

    def bind(self, **values: Any) -> ReplaySafeLogger:
        """A logger whose lines also carry ``values``."""
        return ReplaySafeLogger(self.name, {**self._bound, **values})

    def _log(self, method: str, event: str, *args: Any, **values: Any) -> None:
        logger = structlog.get_logger(self.name)
        run = in_workflow()
        if run is None:  # a step, or no run at all: there is no replay to skip
            getattr(logger, method)(event, *args, **self._bound, **values)
            return
        if not run.live:
            return
        with capturing(run.app_log):
            getattr(logger, method)(event, *args, **self._bound, **values)

    def debug(self, event: str, *args: Any, **values: Any) -> None:
        self._log("debug", event, *args, **values)

    def info(self, event: str, *args: Any, **values: Any) -> None:
        self._log("info", event, *args, **values)

    def warning(self, event: str, *args: Any, **values: Any) -> None:
        self._log("warning", event, *args, **values)

    def error(self, event: str, *args: Any, **values: Any) -> None:
        self._log("error", event, *args, **values)

    def exception(self, event: str, *args: Any, **values: Any) -> None:
        self._log("exception", event, *args, **values)

    def critical(self, event: str, *args: Any, **values: Any) -> None:
        self._log("critical", event, *args, **values)


def get_logger(name: str | None = None) -> ReplaySafeLogger:
    """A logger for workflow and step code: once per line on replay (see the module)."""
    return ReplaySafeLogger(name or DEFAULT_NAME)
