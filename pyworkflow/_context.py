"""Where primitives find the run they are called from.

A context variable set when a run's main task is created: asyncio copies the
context into every task workflow code spawns (``gather``), so each primitive call
finds its own run, even with many runs interleaved in one worker thread.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._replayer import Replayer

current_run: contextvars.ContextVar[Replayer | None] = contextvars.ContextVar(
    "pyworkflow_current_run", default=None)


def in_workflow() -> Replayer | None:
    return current_run.get()
