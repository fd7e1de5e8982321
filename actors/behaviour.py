"""What an actor *does*: the only part of the runtime a user of ``actors`` writes.

The runtime owns delivery, ordering, persistence and effects; a behaviour only
turns messages into events (and effects) and rebuilds its state from events. It
must be deterministic in what it emits for a given state and message, because a
turn that fails to commit is thrown away and retried from the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .effects import Effect
from .event import Event, NewEvent
from .message import Message

S = TypeVar("S")


class MessageRejected(Exception):
    """Raised by a behaviour for a message it cannot accept (unknown kind, bad payload).

    The message is moved to the dead letters with this reason; the actor goes on.
    """


@dataclass
class TurnContext:
    """What a behaviour may use while handling one batch of messages."""

    actor_id: str
    turn: int
    seq: int  # the last committed seq before this batch
    events: list[NewEvent] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    current_msg_id: str | None = None
    record: dict[str, str] = field(default_factory=dict)
    rebuild: bool = False
    #: the actor expects no message soon (it waits, or has ended): its commit rewrites a
    #: short journal at its exact size (``commit.lua``)
    settled: bool = False
    #: the actor's journal may be sealed after this commit (``compaction``): None for
    #: no; ``"waits"``: it waits long (a sleep, a hook); ``"ended"``: it has ended, and
    #: its behaviour recognises a message redelivered after that by itself, so the seal
    #: also drops its seen set
    compact: str | None = None

    def emit(self, type: str, data: dict[str, Any] | None = None) -> NewEvent:
        """Record an event; it will carry the id of the message being handled."""
        event = NewEvent(type=type, data=data or {}, msg_id=self.current_msg_id)
        self.events.append(event)
        return event

    def effect(self, effect: Effect) -> None:
        """Ask for an effect, dispatched only after this batch commits."""
        self.effects.append(effect)

    def project(self, **fields: str) -> None:
        """Update the actor's record (a query-side projection) in the same commit."""
        self.record.update(fields)

    def settle_journal(self) -> None:
        """The actor will not grow its journal for a while (it waits, or has ended): the
        commit rewrites a short journal at its size, so it does not keep the slack Redis
        leaves in a stream's last node."""
        self.settled = True

    def compact_journal(self, ended: bool = False) -> None:
        """After this commit, fold the journal into one compressed value (``sealed``):
        the actor waits long, or has ``ended``. Done by the process in the background,
        never on the turn's path; a seal that loses a race with a later commit writes
        nothing."""
        self.compact = "ended" if ended or self.compact == "ended" else "waits"

    def request_rebuild(self) -> None:
        """After this batch commits, rebuild the state from the journal (e.g. after an
        operator fixed the code a run is replayed with)."""
        self.rebuild = True

    @property
    def next_seq(self) -> int:
        """The seq the next emitted event will get if the batch commits."""
        return self.seq + len(self.events) + 1


class Behaviour(Generic[S]):
    """Base class for actor behaviours; override ``initial_state``, ``apply``, ``handle``."""

    #: True when ``handle`` (with ``settle``, and without ``on_batch_start``) may run
    #: before the turn owns the actor, on a cached state the runtime may then throw
    #: away with the decision (``early_turn``): what it decides depends on the state and
    #: the message alone, and whatever it writes outside the journal may be written
    #: again by a turn that handles the message once more (as after any failed
    #: commit). Its timers' turns then cost one round trip less (see ``early_turn``).
    decides_early: bool = False

    #: the preset dictionary its sealed journals are compressed with (``sealed``; 0:
    #: none): the bytes its events always repeat, registered under this id
    journal_dictionary: int = 0

    def initial_state(self, actor_id: str) -> S:
        raise NotImplementedError

    def apply(self, state: S, event: Event) -> None:
        """Evolve ``state`` by an event read back from the journal."""
        raise NotImplementedError

    def handle(self, state: S, message: Message, ctx: TurnContext) -> None:
        """Turn one message into events and effects (via ``ctx``), updating ``state``
        as if those events were already committed."""
        raise NotImplementedError

    def settle(self, state: S, ctx: TurnContext) -> None:
        """Called once after a batch's messages were handled, before the commit."""

    def worth_caching(self, state: S) -> bool:
        """Whether the process should keep ``state`` for the actor's next turn. An actor
        that expects no more turns (a finished workflow run) says no: its state would
        only hold memory until the cache's LRU pushed it out."""
        return True

    def after_commit(self, state: S) -> None:
        """Called after a batch was committed and its effects dispatched: the place for
        work that must only happen once the batch is durable."""

    def on_recovered(self, state: S, ctx: TurnContext, crashes: int) -> None:
        """``crashes`` earlier turn tasks of this actor died mid-turn (their worker was
        lost). Called before any message is handled again; may emit events."""

    def on_batch_start(self, actor_id: str, turn: int, token: str) -> None:
        """Hook for instrumentation; called before a batch is handled (not before a
        batch decided early: ``decides_early``)."""

    def on_batch_end(self, actor_id: str, turn: int, token: str) -> None:
        """Hook for instrumentation; called after a batch was committed and acknowledged."""
