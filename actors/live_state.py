"""The state of one actor as the turn that owns it holds it: rebuilt, cached, dropped.

A turn takes the actor's state out of the process's cache (``StateCache``) when
it is there, else starts from the behaviour's initial state; either way it then
applies whatever the journal holds beyond the state's seq. When the turn ends the
state goes back to the cache for the next turn of this actor in this process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .behaviour import Behaviour
from .event import Event
from .journal import Journal

if TYPE_CHECKING:
    from .system import ActorSystem


class LiveState:
    """``state`` and the ``seq`` of the last event applied to it."""

    def __init__(self, system: ActorSystem, actor_id: str, behaviour: Behaviour[Any],
                 journal: Journal) -> None:
        self._system = system
        self._actor_id = actor_id
        self._behaviour = behaviour
        self._journal = journal
        self.state: Any = None
        self.seq = 0

    def load(self, known_last_seq: int | None = None,
             prefetched: list[Event] | None = None) -> None:
        """From the cache or from scratch, then up to the journal's end; no read at all
        when the cached state is already at ``known_last_seq``. An actor whose journal is
        empty (its first turn) starts from scratch without asking the cache: nothing to
        rebuild, so it counts as neither a hit nor a miss. ``prefetched``: the whole
        journal, read with the begin (``ownership.begin(prefetch=True)``), used instead
        of a read of its own."""
        if known_last_seq == 0:
            self._system.cache.evict(self._actor_id)  # a same-named actor, forgotten since
            self.state, self.seq = self._behaviour.initial_state(self._actor_id), 0
            return
        cached = self._system.cache.take(self._actor_id)
        if cached is None:
            self.state, self.seq = self._behaviour.initial_state(self._actor_id), 0
        else:
            self.state, self.seq = cached
        if known_last_seq is not None and known_last_seq == self.seq:
            return
        if prefetched is not None:
            events = [e for e in prefetched if e.seq > self.seq]
        else:
            events = self._journal.read(self.seq)
        for event in events:
            self._behaviour.apply(self.state, event)
            self.seq = event.seq

    def rebuild(self) -> None:
        """From scratch: the state may be half-updated, or the journal moved on."""
        self.forget()
        self.load()

    def keep(self) -> None:
        """Leave the state in the cache for the next turn of this actor here (unless
        the behaviour expects no next turn)."""
        if self._behaviour.worth_caching(self.state):
            self._system.cache.put(self._actor_id, self.state, self.seq)
        else:
            self._system.cache.evict(self._actor_id)

    def forget(self) -> None:
        self._system.cache.evict(self._actor_id)
