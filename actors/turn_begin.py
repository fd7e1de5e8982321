"""How a turn begins: one of a few named ways, each a class whose docstring is its contract.

Every way in owns the actor first (``ownership.begin``: claim its flag, or confirm
the token the task carries still holds it) and then runs a :class:`~actors.turn.Turn`
with what it begins with; a task whose token no longer owns the actor (stale: the
actor was taken over, or the turn it was meant for ran already) does no turn. The
ways differ in where the first message comes from:

* :class:`QueuedTurn`: a turn task from the turn queue; messages come from the mailbox.
* :class:`TimerTurn`: a wake task's turn, with a due timer's message in hand; decided
  before it begins when it may (``fast.early_turn``).
* :class:`HandedOverTurn`: a turn task started with a message handed over in the
  actor's in-hand key (``ActorSystem.deliver_held``).
* :class:`InHandTurn`: a worker that produced a message takes the actor's flag and runs
  the turn right there, with the message in hand (``ActorSystem.deliver(inline=True)``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import log as _log
from .fast.early_turn import begin_in_hand
from .message import MalformedMessage, Message
from .ownership import begin
from .turn import Turn

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.turn")


@dataclass(frozen=True)
class QueuedTurn:
    """A turn task from the turn queue (chained by the turn before, or started by a
    sender, a take-back or recovery): runs the turn if ``token`` still owns the actor,
    else does nothing."""

    actor_id: str
    token: str

    def run(self, system: ActorSystem) -> None:
        begun = begin(system, self.actor_id, self.token, activate=False)
        if begun is None:
            logger.debug("stale turn ignored", actor_id=self.actor_id)
            return
        Turn(system, self.actor_id, self.token, begun).run()


@dataclass(frozen=True)
class TimerTurn:
    """The turn ``ActorSystem.deliver_timers`` started with a due timer's message in hand
    (``held``, its encoded form; ``timer_id``, confirmed with the begin). A stale turn
    task (the actor was taken over meanwhile) delivers the message the usual way, then
    confirms the timer; a task whose message cannot be read (not ours: the broker's
    bytes are input too) is dead-lettered and the actor's turn runs without it.
    ``early``: the turn may be decided before it begins (``fast.early_turn``); not for a
    task the broker delivers again, whose first delivery may have died deciding: begun
    first, a death in the actor's code is counted."""

    actor_id: str
    token: str
    held: Any
    timer_id: Any
    early: bool = True

    def run(self, system: ActorSystem) -> None:
        actor_id, held, timer_id = self.actor_id, self.held, self.timer_id
        problem = None
        message = None
        if not isinstance(held, str) or not isinstance(timer_id, str):
            problem = "a timer turn task whose message or timer id is not a string"
        else:
            try:
                message = Message.decode(held)
            except MalformedMessage as exc:
                problem = f"a timer turn task's message: {exc}"
            else:
                if message.actor_id != actor_id:
                    problem = (f"a timer turn task of actor {actor_id!r} holding a message "
                               f"addressed to {message.actor_id!r}")
        if message is None or problem is not None:
            system.dead_letters.add(str(problem), str(held), actor_id=actor_id)
            QueuedTurn(actor_id, self.token).run(system)
            return
        started = begin_in_hand(system, self.token, False, message, timer_id, self.early)
        if started.begun is None:
            logger.debug("stale timer turn; delivering its message", actor_id=actor_id)
            system.deliver(message)
            system.timers.confirm(timer_id)
            return
        Turn(system, actor_id, self.token, started.begun, in_hand=message,
             decision=started.decision).run()


@dataclass(frozen=True)
class HandedOverTurn:
    """The turn ``ActorSystem.deliver_held`` started, with the message (``msg_id``) it
    handed over in the actor's in-hand key. Stale (the actor was taken over, and the
    message with it): nothing. The message gone (someone put it back in the mailbox):
    an ordinary turn. A message that cannot be read is dead-lettered, with the reason."""

    actor_id: str
    token: str
    msg_id: Any

    def run(self, system: ActorSystem) -> None:
        actor_id, token = self.actor_id, self.token
        if not isinstance(self.msg_id, str):
            QueuedTurn(actor_id, token).run(system)
            return
        begun = begin(system, actor_id, token, activate=False, stored=self.msg_id)
        if begun is None:
            logger.debug("stale turn ignored", actor_id=actor_id)
            return
        message = None
        if begun.stored is not None:
            try:
                message = Message.decode(begun.stored)
            except MalformedMessage as exc:  # not ours to read: set aside, with the reason
                system.dead_letters.add(f"a message handed over in hand: {exc}",
                                        begun.stored, actor_id=actor_id)
                system.redis.delete(system.actor_keys(actor_id).inhand)
        Turn(system, actor_id, token, begun, in_hand=message).run()


@dataclass(frozen=True)
class InHandTurn:
    """Take the flag of ``message``'s actor and run a turn here with the message in hand
    (``fast.in_hand``); ``run`` returns False (nothing done) when the actor is busy.
    ``with_release``: a write the caller may make late, sent in the turn's release (or,
    should the turn end otherwise, once it has run) instead of in a round trip of its own.

    Not decided early: the message (a step's result) exists only in this process until
    the begin holds it, and workflow code that kills its process must find it held
    there, and its death counted, not the step's result lost (``fast.early_turn``)."""

    message: Message
    with_release: Callable[[Any], None] | None = None

    def run(self, system: ActorSystem) -> bool:
        message, token = self.message, uuid.uuid4().hex
        begun = begin(system, message.actor_id, token, activate=True, in_hand=message)
        if begun is None:
            return False
        turn = Turn(system, message.actor_id, token, begun, in_hand=message)
        if self.with_release is not None:
            turn.with_release.append(self.with_release)
        turn.run()
        riders = turn.take_riders()
        if riders:  # the turn ended without a release of its own (chained, lost)
            def send(pipe: Any) -> None:
                for build in riders:
                    build(pipe)

            system.scripts.pipeline(send)
        return True
