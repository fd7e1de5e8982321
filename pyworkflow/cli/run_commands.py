"""``pyworkflow runs``: the group (:mod:`.runs`) with the commands other modules add to it.

The root loads this module when ``runs`` is named (``_commands.ROOT``). Each module
below adds its commands to the group when imported (they stand on ``runs``, so it
cannot import them); together they cost ~10 ms on top of the client ``runs`` needs.
"""

from __future__ import annotations

from . import (  # noqa: F401  (each adds its commands to the group)
    run_chain,
    run_check,
    run_control,
    run_export,
    run_messages,
    run_purge,
)
from .runs import runs

__all__ = ["runs"]
