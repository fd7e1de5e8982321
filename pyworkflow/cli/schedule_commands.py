"""``pyworkflow schedules``: the group (:mod:`.schedules`) with ``import-beat`` (:mod:`.beat`).

The root loads this module when ``schedules`` is named (``_commands.ROOT``); ``beat``
adds its command to the group when imported (it stands on ``schedules``, so that
module cannot import it).
"""

from __future__ import annotations

from . import beat  # noqa: F401  (adds schedules import-beat)
from .schedules import schedules

__all__ = ["schedules"]
