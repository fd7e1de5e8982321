"""What a dead turn task left behind, put back in the mailbox by the next turn.

A turn task that dies (its worker SIGKILLed, or work that kills the process)
leaves behind what it had taken and not committed. ``begin_turn.lua`` notices it
(the actor's meta still says a turn task is running), puts a Redis-list batch back
itself and hands the rest to the next turn: the delivery tags of messages taken
through Kombu, and a message the dead turn held in hand. Nothing waits for a
broker's visibility timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import log as _log
from .keys import ActorKeys
from .message import MalformedMessage, Message

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.stranded")


def put_back(system: ActorSystem, keys: ActorKeys, tags: list[str],
             left_in_hand: bytes | None) -> None:
    """Restore ``tags`` (Kombu delivery tags) and put ``left_in_hand`` in the mailbox."""
    if tags:
        system.mailbox.restore(tags)
    if left_in_hand:
        try:
            message = Message.decode(left_in_hand)
        except MalformedMessage:
            return
        logger.info("a message a dead turn held in hand goes back to the mailbox",
                    msg_id=message.msg_id)
        system.mailbox.put(keys.mailbox, message)
