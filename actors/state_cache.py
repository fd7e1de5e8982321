"""A per-process LRU of live actor states, so a turn that lands where the actor last
ran skips rebuilding it from the journal. Nothing depends on it: a miss rebuilds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class StateCache:
    def __init__(self, max_entries: int = 1000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, actor_id: str, count_miss: bool = True) -> tuple[Any, int] | None:
        """Remove and return ``(state, seq)``: a turn owns its actor's state exclusively.
        ``count_miss=False``: a caller that only tries (``early_turn``), whose miss the
        turn after it counts."""
        with self._lock:
            entry = self._entries.pop(actor_id, None)
            if entry is None:
                if count_miss:
                    self.misses += 1
            else:
                self.hits += 1
            return entry

    def holds(self, actor_id: str) -> bool:
        """Whether a state of ``actor_id`` is here (a look: it may be gone by the time
        the turn takes it; a turn that guessed wrong only read what it did not need)."""
        with self._lock:
            return actor_id in self._entries

    def put(self, actor_id: str, state: Any, seq: int) -> None:
        with self._lock:
            self._entries[actor_id] = (state, seq)
            self._entries.move_to_end(actor_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def evict(self, actor_id: str) -> None:
        with self._lock:
            self._entries.pop(actor_id, None)
