"""A clock that moves only when told: the test environment's time.

It starts at the real time (so dates in a test look like today's) and then moves
only by ``advance``/``set``: a 30-day sleep is one jump, not 30 days.
"""

from __future__ import annotations

import time


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
