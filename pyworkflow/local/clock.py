"""A clock that moves only when told: the test environment's time.

It starts at the real time (so dates in a test look like today's) and then moves
only by ``advance``/``set``: a 30-day sleep is one jump, not 30 days. ``RealClock``
is its wall-clock twin, for running workflows in-process for real (``local_runtime``).
"""

from __future__ import annotations

import threading
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

    def set_ms(self, when_ms: int) -> bool:
        """Move forward to ``when_ms`` (a no-op if that is already past); always gets
        there (True)."""
        self._now = max(self._now, when_ms / 1000)
        return True


class Clock(Protocol):
    """What the environment needs of a clock: read it, and move it forward."""

    def now(self) -> float: ...
    def now_ms(self) -> int: ...
    def advance(self, seconds: float) -> None: ...
    def set_ms(self, when_ms: int) -> bool:
        """Move forward to ``when_ms``; False if woken before getting there."""
        ...


class RealClock:
    """Wall-clock time for the local runtime: "moving" it to a timer's due time is
    waiting until then, so the same environment that skips a 30-day sleep in a test
    really sleeps when a developer runs a workflow with ``--runtime local``. ``wake``
    (from another thread) ends such a wait early, so a cancel handed to a run that
    sleeps for a day is handled now, not tomorrow."""

    def __init__(self) -> None:
        self._wake = threading.Event()

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes back")
        time.sleep(seconds)

    def set_ms(self, when_ms: int) -> bool:
        """Wait until ``when_ms`` (at once if that is already past); False if ``wake``
        ended the wait first."""
        while (delay := when_ms / 1000 - time.time()) > 0:
            if self._wake.wait(delay):
                self._wake.clear()
                return False
        return True

    def wake(self) -> None:
        """End a ``set_ms`` wait (now, or the next one if none is under way)."""
        self._wake.set()
