"""A turn decided before it begins: its begin and its commit in one round trip.

A turn with one message in hand costs two round trips before its end: the begin
(own the actor, learn where its journal ends) and the commit of what the behaviour
decided. When this process caches the actor's state, the decision needs nothing from
the begin: ``decide`` lets the behaviour handle the message on the cached state
first, and ``begin_and_commit`` sends the begin and the commit together (and, when
the turn can end there, its end: ``end_in_commit``). ``begin_in_hand`` is the way a
turn with a message in hand begins, early when it may.

Nothing is written on a guess. The commit is fenced as every commit is (the token the
begin in front of it takes, the seq the cached state is at) and guarded besides
(``commit.lua``): it happens only if that begin left this very message in hand, that
is the actor is ours, the message is not in the journal yet, and no dead turn task
of the actor is unaccounted for (its leftovers go back to the mailbox before anything
is handled). When the commit does not happen, the decision is thrown away with the
state it changed, and the turn, begun or not, goes on exactly as without it, from
the journal. The price of a wrong guess is a replay instead of reading the events
the cache missed; the guess is right whenever the actor's last turn ran in this
process, which is what a cached state almost always means.

Only a message that survives this process's death without the begin may be decided
early, and only where such a death is counted: a due timer's (its claim keeps it
until the begin confirms it), in a wake task delivered for the first time
(``turn_begin.TimerTurn``). A step's result exists only in its process until a begin
holds it: decided first, workflow code that killed the process would lose it (the
step would run again) and its death would be the step's, not the turn's. A task
the broker delivers again may have died deciding: its turns begin first, so a
second death is counted. On a Redis Cluster the two cannot share a round trip: no
early decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from .. import log as _log
from ..behaviour import TurnContext
from ..effects import Effect
from ..journal import LeaseLost, NotAsDecided, SequenceConflict
from ..message import Message
from ..outbox import effect_ids
from ..ownership import Begun, begin, parse_begun, queue_begin, undo_index_touch
from . import commit_riders
from .end_in_commit import EndInCommit

if TYPE_CHECKING:
    from ..system import ActorSystem

logger = _log.get_logger("actors.early_turn")


@dataclass
class Decision:
    """What the behaviour decided for one message on the cached state."""

    ctx: TurnContext
    state: Any
    seq: int  # where the cached state was, i.e. where the commit expects the journal
    committed: list[tuple[str, Effect]]
    taken_at: float
    riders: list[Any]
    new_seq: int = 0
    #: the replies of what ``begin_and_commit``'s ``then`` queued behind the commit (the
    #: turn's end), when it was and the commit happened
    then_replies: list[Any] | None = None
    #: the turn's end planned behind the commit (``end_in_commit``), if any
    end: EndInCommit | None = None


def decide(system: ActorSystem, message: Message) -> Decision | None:
    """Handle ``message`` on this process's cached state of its actor; None when the
    actor's behaviour does not decide early (``Behaviour.decides_early``), nothing is
    cached, or the behaviour would not take the message as it is (rejected, raised):
    the ordinary turn handles such a message, and sets it aside if it must (the state
    the attempt took from the cache is dropped: it may be half-changed)."""
    actor_id = message.actor_id
    behaviour = system.behaviour_for(actor_id)
    if not behaviour.decides_early:
        return None
    cached = system.cache.take(actor_id, count_miss=False)
    if cached is None:
        return None
    state, seq = cached
    ctx = TurnContext(actor_id=actor_id, turn=0, seq=seq)
    taken_at = time.time()
    commit_riders.take()
    try:
        with structlog.contextvars.bound_contextvars(actor_id=actor_id, kind=message.kind,
                                                     msg_id=message.msg_id):
            ctx.current_msg_id = message.msg_id
            behaviour.handle(state, message, ctx)
            ctx.current_msg_id = None
            behaviour.settle(state, ctx)
    except Exception as exc:  # the state may be half-changed: the turn rebuilds it
        commit_riders.take()
        logger.debug("no early decision; the turn handles the message", error=str(exc))
        return None
    return Decision(ctx, state, seq, effect_ids(seq, ctx.effects), taken_at,
                    commit_riders.take())


def begin_and_commit(system: ActorSystem, actor_id: str, token: str, activate: bool,
                     message: Message, timer_id: str | None, decision: Decision,
                     then: Callable[[Any, str], None] | None = None,
                     ) -> tuple[Begun | None, bool]:
    """The begin (as ``ownership.begin`` with ``message`` in hand) and the guarded commit of
    ``decision`` in one round trip: (what the begin found, or None when the actor is not
    ours; whether the commit happened). A decision not committed is dropped with the
    state it changed (taken out of the cache by ``decide``, not put back). ``then(pipe,
    commit_id)``: queues the turn's end behind the commit (written to happen only if it
    did); its replies go to ``Decision.then_replies``."""
    journal = system.journal(actor_id)
    ctx = decision.ctx
    places: dict[str, int] = {}

    def build(pipe: Any) -> None:
        for rider in decision.riders:  # ahead of the commit, as ``Journal.commit`` has it
            rider(pipe)
        places["begin"] = queue_begin(system, pipe, actor_id, token, activate,
                                      in_hand=message, timer_id=timer_id)
        places["commit"] = len(pipe)
        commit_id = journal.queue_commit(pipe, token, decision.seq, system.lease_ms,
                                         ctx.events, [message.msg_id], decision.committed,
                                         ctx.record, guard=message.msg_id,
                                         settled=ctx.settled)
        if then is not None:
            places["then"] = len(pipe)
            then(pipe, commit_id)

    out = system.scripts.pipeline(build)
    begun = parse_begun(out[places["begin"]])
    if begun is None and not activate:
        undo_index_touch(system, actor_id)
    try:
        decision.new_seq = journal.outcome(out[places["commit"]])
    except (LeaseLost, SequenceConflict, NotAsDecided) as exc:
        logger.debug("early decision not committed", actor_id=actor_id,
                     why=type(exc).__name__)
        return begun, False
    if begun is None:  # cannot be: the commit is fenced by the token this begin takes
        raise LeaseLost(actor_id)
    ctx.turn = begun.turn
    if then is not None:
        decision.then_replies = out[places["then"]:]
    return begun, True


@dataclass(frozen=True)
class InHandBegin:
    """How a turn with a message in hand began (``begin_in_hand``): what the begin found
    (None: the actor is not ours) and, when the batch of the message was decided early
    and committed with the begin, that decision."""

    begun: Begun | None
    decision: Decision | None = None


def begin_in_hand(system: ActorSystem, token: str, activate: bool, message: Message,
                  timer_id: str | None, early: bool) -> InHandBegin:
    """Begin a turn with ``message`` in hand: decided early and committed with the begin
    when ``early`` and this process caches the actor's state (``decide``), else a plain
    begin. A decision whose turn can end in that round trip (``EndInCommit``) ends
    there."""
    decision = decide(system, message) if early and system.single_server else None
    if decision is None:  # not cached here: the turn rebuilds, so read with the begin
        return InHandBegin(begin(system, message.actor_id, token, activate, in_hand=message,
                                 timer_id=timer_id,
                                 prefetch=not system.cache.holds(message.actor_id)))
    actor_id = message.actor_id
    end = None
    if not decision.ctx.rebuild:
        end = EndInCommit.plan(system, actor_id, token,
                               system.mailbox_reader(system.actor_keys(actor_id)).length_key,
                               decision.committed)
        decision.end = end
    begun, committed = begin_and_commit(
        system, actor_id, token, activate, message, timer_id, decision,
        None if end is None else lambda pipe, commit_id: end.queue(pipe, commit_id, []))
    return InHandBegin(begun, decision if committed else None)
