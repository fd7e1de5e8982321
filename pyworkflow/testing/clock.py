"""A clock that moves only when told: the test environment's time.

It starts at the real time (so dates in a test look like today's) and then moves
only by ``advance``/``set``: a 30-day sleep is one jump, not 30 days. ``RealClock``
is its wall-clock twin, for running workflows in-process for real (``local_runtime``).
"""

from __future__ import annotations

import time
from typing import Protocol


class VirtualClock:
    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def now_ms(self) -> int:
        return int(self._now * 1000)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a virtual clock never goes back")
        self._now += seconds

    def set_ms(self, when_ms: int) -> None:
        """Move forward to ``when_ms`` (a no-op if that is already past)."""
        self._now = max(self._now, when_ms / 1000)


class Clock(Protocol):
    """What the environment needs of a clock: read it, and move it forward."""

    def now(self) -> float: ...
    def now_ms(self) -> int: ...
    def advance(self, seconds: float) -> None: ...
    def set_ms(self, when_ms: int) -> None: ...


class RealClock:
    """Wall-clock time for the local runtime: "moving" it to a timer's due time is
    waiting until then, so the same environment that skips a 30-day sleep in a test
    really sleeps when a developer runs a workflow with ``--runtime local``."""

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes back")
        time.sleep(seconds)

    def set_ms(self, when_ms: int) -> None:
        """Wait until ``when_ms`` (at once if that is already past)."""
        delay = when_ms / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)
