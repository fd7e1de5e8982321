"""A message held in hand: handled by the worker that produced it, not read from the mailbox.

``ActorSystem.deliver(inline=True)`` lets a worker that produced a message and won
its actor's activation run the turn right there. The message is not in the
mailbox; ``begin_turn.lua`` keeps a copy in the actor's ``inhand`` slot until the
commit deletes it, so a turn that dies first leaves it for the next turn to put
back (``stranded``). Not committed for any other reason, it goes to the mailbox
after all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..mailbox import Mailbox
from ..message import Message


class HeldMessage:
    """The message in hand, as one taken message of a batch of one."""

    seen_hint = None  # the begin checked it already (``Begun.in_hand_seen``)

    def __init__(self, message: Message, inhand_key: str) -> None:
        self.message = message
        self._inhand_key = inhand_key
        self.acknowledged = False

    def decode(self) -> Message:
        return self.message

    def readable(self) -> bytes | str:
        return self.message.encode()

    def forget_in(self, pipe: Any) -> None:
        pipe.delete(self._inhand_key)

    def ack(self) -> None:
        self.acknowledged = True


class InHand:
    """The source of a message in hand: what is not committed goes to the mailbox."""

    def __init__(self, mailbox: Mailbox, mailbox_key: str) -> None:
        self._mailbox = mailbox
        self._mailbox_key = mailbox_key

    def acknowledge(self, taken: Sequence[HeldMessage]) -> None:
        for held in taken:  # the commit deleted the in-hand slot
            held.ack()

    def give_back(self, taken: Sequence[HeldMessage]) -> None:
        for held in taken:
            if not held.acknowledged:
                self._mailbox.put(self._mailbox_key, held.message)
                held.ack()

    def let_go(self, taken: Sequence[HeldMessage]) -> None:
        """Nothing to do: the turn lost the actor, and whoever takes it over puts the
        message back from the in-hand slot (``begin_turn.lua`` stored it there;
        ``stranded``). Publishing it here too left a second copy in the mailbox, late
        (a worker back from a partition) and with nobody to wake its actor."""
        for held in taken:
            held.ack()
