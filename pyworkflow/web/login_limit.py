"""How many wrong tokens ``POST /login`` takes from one client address: a cap on guessing.

At most :data:`MAX_FAILURES` failed sign-ins per client address in any
:data:`WINDOW_S` seconds; past that, ``/login`` answers 429 with ``Retry-After``
until the oldest failure leaves the window (a right token is refused too meanwhile,
or the cap would be an oracle). Counted in this process's memory: each process of
a deployment keeps its own count, a restart forgets it, and behind a proxy every
client shares the proxy's address (the cap then throttles them together; a long
random token is what really keeps guessing out). At most :data:`MAX_CLIENTS`
addresses are remembered; the one seen least recently is forgotten first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

__all__ = ["MAX_FAILURES", "WINDOW_S", "LoginLimit"]

MAX_FAILURES = 10
WINDOW_S = 60.0
MAX_CLIENTS = 10_000


class LoginLimit:
    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds this client must wait before trying again; 0 when it may try now."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(times[0] + self.window_s - now))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client) or deque(maxlen=self.max_failures)
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times
