"""How a turn reads its actor's mailbox: one interface, one reader per transport.

A turn takes a batch, and then does exactly one of three things with it: it
*acknowledges* the batch (committed), *gives it back* (not committed, and the turn
still owns the actor: the messages go back to the mailbox, in order where the
transport allows) or *lets go* of it (not committed, and the lease is lost: the turn
must not touch the actor's keys any more, since whoever took the actor over owns
them). How each is done depends on where the mailbox lives, so it is the reader's
business, never the turn's:

* ``RedisListReader`` (``redis_list_reader``): the broker is the runtime's own
  Redis; a batch is moved to the actor's ``taken`` list in one script.
* ``KombuReader`` (``kombu_reader``): any Kombu transport; a batch is taken
  unacknowledged and its delivery tags are recorded with the lease.

A message held in hand (``in_hand``) is a batch of one from a source of its own,
with the same three verbs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from .message import Message


class Taken(Protocol):
    """One message a turn holds and has not committed yet."""

    @property
    def acknowledged(self) -> bool:
        """Out of the turn's hands: committed, or set aside as a dead letter."""

    @property
    def seen_hint(self) -> tuple[str, bool] | None:
        """What the take itself found out about redelivery, when it could: the msg_id
        its sender wrote beside the message and whether the journal had it (trusted
        only when that id is the message's own); None: look it up."""

    def decode(self) -> Message:
        """The message; raises ``MalformedMessage`` for anything that is not one."""

    def readable(self) -> bytes | str:
        """What a dead letter shows: the body when it can be read, else the raw entry."""

    def forget_in(self, pipe: Any) -> None:
        """Queue on ``pipe`` whatever takes this message out of the actor's keys, so a
        message set aside as a dead letter is not put back by a crash restore."""

    def ack(self) -> None:
        """Tell the transport the message is done with (after ``forget_in`` ran)."""


T = TypeVar("T", bound=Taken)
T_contra = TypeVar("T_contra", bound=Taken, contravariant=True)


class Source(Protocol[T_contra]):
    """Where a batch came from, and so how it is finished."""

    def acknowledge(self, taken: Sequence[T_contra]) -> None:
        """The batch is committed (``commit.lua`` already cleared the actor's keys)."""

    def give_back(self, taken: Sequence[T_contra]) -> None:
        """The batch was not committed and the turn still owns the actor."""

    def let_go(self, taken: Sequence[T_contra]) -> None:
        """The batch was not committed and the lease is lost."""


class MailboxReader(Source[T], Protocol[T]):
    """A source that takes batches from the actor's mailbox."""

    #: The Redis list ``release.lua`` can read the mailbox's length from, in the same
    #: atomic step as the release; None when the mailbox is not in the runtime's Redis.
    length_key: str | None

    def take(self, token: str, limit: int, also: Callable[[Any], None]) -> list[T]:
        """Up to ``limit`` messages, oldest first, renewing the lease of ``token`` in the
        same round trip, which also carries what ``also(pipe)`` queues; raises
        ``LeaseLost`` (having let go of anything taken) when the lease is gone."""
