"""Where workflow code finds the run it belongs to, and whether it is shielded.

A context variable set when a run's main task is created: asyncio copies the
context into every task workflow code spawns (``gather``), so each primitive call
finds its own run, even with many runs interleaved in one worker thread. The
shield depth travels the same way: ``shield()`` (a public primitive) raises it, and
the engine reads it when a checkpoint or an interrupted wait asks.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import Run

current_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "pyworkflow_current_run", default=None)

shield_depth: contextvars.ContextVar[int] = contextvars.ContextVar("pyworkflow_shield",
                                                                  default=0)


def in_workflow() -> Run | None:
    return current_run.get()


def shielded() -> bool:
    return shield_depth.get() > 0
