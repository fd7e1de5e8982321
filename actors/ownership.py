"""Owning an actor: the begin (``begin_turn.lua``) and the release (``release.lua``).

Whoever holds an actor's activation flag with its token owns the actor: only it
commits to the journal (every commit is fenced by the token). A turn task *begins*
by claiming the flag (``activate``) or confirming it holds it, in one script that
also reports what a dead turn task of the actor left behind; it *releases* the flag
in one script that reads, in the same atomic step, how many messages wait. These
are the only two ways a flag changes hands, and every way a turn begins or ends
(``turn_begin``, ``turn_end``) is built on them, so their Redis replies are read
here and nowhere else: a turn sees :class:`Begun` and :class:`Released`, never the
numbers the scripts return.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .event import Event
from .message import Message
from .sealed import merge

if TYPE_CHECKING:
    from .keys import ActorKeys
    from .system import ActorSystem

#: How long a released turn may take to dispatch its last effects before the next turn
#: dispatches them itself (only matters if the releasing process died).
DISPATCHING_MARK_MS = 2_000


@dataclass(frozen=True)
class Begun:
    """What ``begin_turn.lua`` told a turn that owns its actor."""

    turn: int
    crashes: int
    last_seq: int
    outbox: int
    in_hand_seen: bool
    left_in_hand: bytes | None  # a message a dead turn held in hand: back to the mailbox
    stored: bytes | None  # the message handed over with this turn (``hand_over.lua``)
    stranded: list[str]  # delivery tags a dead turn took: back to the mailbox
    #: the actor's whole journal, read in the begin's round trip when the caller knew the
    #: turn would rebuild the actor (``begin(prefetch=True)``): what ``LiveState.load``
    #: reads on a miss, one round trip sooner
    journal: list[Event] | None = None


@dataclass(frozen=True)
class Released:
    """What ``release.lua`` found when it ran: whether the actor was still ours (if
    not, nothing was released: it was taken over after our lease lapsed, or this same
    release ran once already and was sent again) and how many messages were waiting
    in the mailbox (None: the mailbox is not a Redis list; ask the broker)."""

    ours: bool
    waiting: int | None

    @classmethod
    def parse(cls, reply: Any) -> Released | None:
        """The release's reply; None when it was conditional on a commit that did not
        happen, and so did nothing."""
        code = int(reply)
        if code == -3:
            return None
        if code == -2:
            return cls(ours=False, waiting=None)
        return cls(ours=True, waiting=None if code == -1 else code)

    def messages_waiting(self, system: ActorSystem, keys: ActorKeys) -> int:
        """How many messages waited at the release, asking the broker if need be."""
        if self.waiting is not None:
            return self.waiting
        return system.mailbox.size(keys.mailbox)


def begin(system: ActorSystem, actor_id: str, token: str, activate: bool,
          in_hand: Message | None = None, timer_id: str | None = None,
          stored: str | None = None, prefetch: bool = False) -> Begun | None:
    """Claim (``activate``) or confirm the actor for ``token``; None if not its owner.
    ``prefetch``: this process does not cache the actor, so the turn will rebuild it:
    its journal (sealed prefix and stream) is read behind the begin, in the same round
    trip (``Begun.journal``); read after the begin script, it is the journal the turn
    owns.
    ``timer_id``: the due timer whose message is ``in_hand``, confirmed in the same
    round trip when the begin succeeds (on one server; else right after it).
    ``stored``: the msg_id of a message handed over in the actor's in-hand key with
    this turn (``ActorSystem.deliver_held``), returned as ``Begun.stored``."""
    at: list[int] = []
    keys = system.actor_keys(actor_id)

    def build(pipe: Any) -> None:
        at.append(queue_begin(system, pipe, actor_id, token, activate, in_hand, timer_id,
                              stored))
        if prefetch:
            at.append(len(pipe))
            pipe.get(keys.sealed)
            pipe.xrange(keys.journal, min="-", max="+")

    out = system.scripts.pipeline(build)
    begun = parse_begun(out[at[0]])
    if begun is None and not activate:
        undo_index_touch(system, actor_id)
    if begun is not None and prefetch:
        journal = merge(out[at[1]], out[at[1] + 1], actor_id)
        if (journal[-1].seq if journal else 0) == begun.last_seq:
            begun = dataclasses.replace(begun, journal=journal)
    if begun is not None and timer_id is not None and not system.single_server:
        system.timers.confirm(timer_id)
    return begun


def queue_begin(system: ActorSystem, pipe: Any, actor_id: str, token: str, activate: bool,
                in_hand: Message | None = None, timer_id: str | None = None,
                stored: str | None = None) -> int:
    """Queue a begin (see :func:`begin`) on ``pipe``; returns the place of its reply
    among the pipeline's, for :func:`parse_begun`. The timer is confirmed here only on
    one server (the caller confirms it otherwise)."""
    k = system.actor_keys(actor_id)
    first = len(pipe)
    if activate:  # index first: if this process dies now, recovery finds the actor
        system.touch_index(pipe, actor_id, queued=False)
    system.scripts.call_in(
        pipe, "begin_turn",
        [k.activation, k.meta, k.inflight, k.journal, k.outbox, k.seen, k.inhand,
         k.dispatching, k.taken, k.mailbox],
        [token, system.lease_ms, "activate" if activate else "owned",
         in_hand.msg_id if in_hand else (stored or ""),
         in_hand.encode() if in_hand else "", "stored" if stored else ""])
    if not activate:
        pipe.zadd(system.keys.lease_index_of(actor_id), {actor_id: system.lease_score()})
    if timer_id is not None and system.single_server:
        system.timers.confirm_if_owner_in(pipe, k.activation, token, str(timer_id))
    return first + (1 if activate else 0)


def undo_index_touch(system: ActorSystem, actor_id: str) -> None:
    """After a begin that found the actor not its own (a stale turn task): bring the
    lease-index entry that ``queue_begin`` pushed a lease ahead back to now, so that
    recovery looks at the actor on its next pass (``recover.lua`` decides: a live owner
    keeps it; a dead one's actor is taken over). Without this, a dead worker's turn
    task put back (``held_tasks``) just as the dead chain's lease ran out pushed the
    takeover a whole lease later (a SIGKILL recovered in 10 s instead of 5)."""
    system.redis.zadd(system.keys.lease_index_of(actor_id),
                      {actor_id: time.time() * 1000}, lt=True)


def parse_begun(out: Any) -> Begun | None:
    """What ``begin_turn.lua`` replied; None when the caller does not own the actor."""
    if int(out[0]) == 0:
        return None
    return Begun(int(out[0]), int(out[1]), int(out[2]), int(out[3]), bool(int(out[4])),
                 out[5] or None, out[6] or None,
                 [t.decode() if isinstance(t, bytes) else t for t in out[7:]])


def queue_release(system: ActorSystem, pipe: Any, actor_id: str, token: str,
                  length_key: str | None, dispatching: str, idle: bool,
                  riders: list[Callable[[Any], None]], after_commit: str | None = None) -> None:
    """Queue ``release.lua`` on ``pipe`` (its reply goes to :meth:`Released.parse`), then
    ``riders``. ``length_key``: the mailbox's Redis list, if it is one; ``idle``: drop the
    lease-index entry when the release leaves the actor idle; ``after_commit``: release
    only if the commit of that id (queued just before) happened."""
    k = system.actor_keys(actor_id)
    keys = [k.activation, k.inflight, k.meta, k.dispatching]
    args: list[Any] = [token, dispatching, DISPATCHING_MARK_MS]
    if length_key:
        keys.append(length_key)
        if idle:
            keys.append(system.keys.lease_index_of(actor_id))
            args.append(actor_id)
            if after_commit is not None:
                args.append(after_commit)
    system.scripts.call_in(pipe, "release", keys, args)
    for build in riders:
        build(pipe)
