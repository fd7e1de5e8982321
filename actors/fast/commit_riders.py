"""Writes that ride on this thread's next journal commit, in its round trip.

A behaviour's port sometimes has a write of its own to make before the turn's
commit, one that must not wait for after it (a finished workflow run's entry in its
retention index: written first, a crash between the two leaves an entry for a run
that still finishes, never a finished run that is never purged). Queued here, it
goes in the commit's pipeline, ahead of the commit script, instead of costing a
round trip of its own. A turn clears what a failed batch left before handling the
next one; whatever still waits when no commit follows is simply not written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_local = threading.local()


def ride(build: Callable[[Any], None]) -> None:
    """Queue ``build(pipe)`` for the next commit made by this thread."""
    waiting: list[Callable[[Any], None]] | None = getattr(_local, "waiting", None)
    if waiting is None:
        waiting = _local.waiting = []
    waiting.append(build)


def take() -> list[Callable[[Any], None]]:
    """What waits for the commit (and forget it)."""
    waiting: list[Callable[[Any], None]] = getattr(_local, "waiting", None) or []
    _local.waiting = None
    return waiting
