"""One batch of a turn: take, sort out, handle, commit, then finish what was taken.

The order is what makes the runtime correct:

1. take messages (unacknowledged) and record them with the lease, so a crash
   restore can put them back if this process dies (the reader's business);
2. drop messages whose ``msg_id`` the journal already holds (redeliveries) and set
   aside in the dead letters, at once and for good, what is malformed or addressed
   to another actor (a dead letter leaves the actor's keys when it is recorded, so
   no later give-back, lost lease or crash brings it back to be dead-lettered twice);
3. let the behaviour turn the rest into events and effects;
4. commit events, seen msg_ids and effects in one script, fenced by the lease
   token and the expected seq (nothing is written if either fails);
5. acknowledge the messages and stage the effects in the outbox object, which
   dispatches them (they are already in the outbox hash).

A batch that is not committed is given back (the turn still owns the actor) or let
go of (the lease is lost), so it is handled again, once, by whoever owns the actor.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from . import log as _log
from .behaviour import MessageRejected, TurnContext
from .elsewhere import ActorElsewhere
from .fast import commit_riders
from .fast.in_hand import HeldMessage, InHand
from .journal import LeaseLost, SequenceConflict
from .live_state import LiveState
from .mailbox_reader import MailboxReader, Source, Taken
from .message import MalformedMessage, Message
from .outages import OUTAGES
from .outbox import Outbox, effect_ids

if TYPE_CHECKING:
    from .fast.early_turn import Decision
    from .system import ActorSystem

#: Messages handled per commit.
BATCH_SIZE = 50

logger = _log.get_logger("actors.batch")

T = TypeVar("T", bound=Taken)
#: what a turn queues behind a batch's commit, given the effects it commits
Plan = Callable[[list[tuple[str, Any]]], Callable[[Any, str], None] | None]


class Batches:
    """Handles the batches of one actor for one owner (lease ``token``, turn number)."""

    def __init__(self, system: ActorSystem, actor_id: str, token: str, turn_no: int,
                 live: LiveState, outbox: Outbox, reader: MailboxReader[Any]) -> None:
        self._system = system
        self._actor_id = actor_id
        self._token = token
        self._turn_no = turn_no
        self._live = live
        self._outbox = outbox
        self._reader = reader
        self._keys = system.actor_keys(actor_id)
        self._journal = system.journal(actor_id)
        self._behaviour = system.behaviour_for(actor_id)
        self._in_hand = InHand(system.mailbox, self._keys.mailbox)
        self.drained = False
        #: the replies of what ``handle_in_hand``'s ``plan`` queued behind the commit
        #: (None: nothing was, or the commit failed)
        self.then_replies: list[Any] | None = None

    def take_and_handle(self) -> bool:
        """Take and handle one batch from the mailbox; False when it was empty."""
        sys_ = self._system
        self._outbox.dispatch_pending()

        def also(pipe: Any) -> None:  # rides on the take's round trip
            actor_id = self._actor_id
            pipe.zadd(sys_.keys.lease_index_of(actor_id), {actor_id: sys_.lease_score()})
            self._outbox.delete_dispatched_in(pipe)

        taken = self._reader.take(self._token, BATCH_SIZE, also)
        #: the take emptied a mailbox whose length the release reads anyway: no need to
        #: look again before ending the turn
        self.drained = self._reader.length_key is not None and len(taken) < BATCH_SIZE
        if not taken:
            return False
        messages: list[tuple[Any, Message]] = []
        for item in taken:
            try:
                message = item.decode()
            except MalformedMessage as exc:
                self._set_aside(item, str(exc))
                continue
            if message.actor_id != self._actor_id:
                # A message names its actor; one in another actor's mailbox (forged, or
                # misrouted) must not act on this one (e.g. wake its sleep).
                self._set_aside(item, f"addressed to actor {message.actor_id!r}, found in "
                                      f"the mailbox of {self._actor_id!r}")
                continue
            messages.append((item, message))
        # The take read the seen set for messages whose sender named them beside the
        # body; the rest are looked up here (a round trip only when there are any).
        told = [_trusted(item.seen_hint, m.msg_id) for item, m in messages]
        looked_up = iter(self._journal.seen(
            [m.msg_id for (_, m), known in zip(messages, told, strict=True) if known is None]))
        seen = [next(looked_up) if known is None else known for known in told]
        fresh: list[tuple[Any, Message]] = []
        in_batch: set[str] = set()
        for (item, m), dup in zip(messages, seen, strict=True):
            # A redelivery (its id is in the journal), or the same message twice in one
            # batch (a sender that retried): handled once; the copy is taken and acked.
            if not dup and m.msg_id not in in_batch:
                fresh.append((item, m))
                in_batch.add(m.msg_id)
        if len(fresh) < len(messages):
            logger.info("dropped redelivered messages", count=len(messages) - len(fresh))
        self._handle(self._reader, fresh, taken)
        return True

    def handle_in_hand(self, message: Message, seen: bool, plan: Plan | None = None) -> None:
        """Handle a message held in hand; ``seen``: its msg_id is in the journal already.
        ``plan(committed)``: given the effects the batch commits, what to queue behind
        the commit in its round trip (``then(pipe, commit_id)``; the turn's end), or
        None; the replies are then in ``then_replies``."""
        if seen:
            logger.info("dropped a redelivered message", msg_id=message.msg_id)
            return
        held = HeldMessage(message, self._keys.inhand)
        self._handle(self._in_hand, [(held, message)], [held], plan)

    def record_crashes(self, crashes: int) -> None:
        """Tell the behaviour that turn tasks of this actor died (worker lost, or work
        that kills its worker) before any message is handled again, so it can record
        it and stop poison work."""
        logger.warning("earlier turn tasks of this actor died", crashes=crashes)
        live = self._live
        ctx = TurnContext(actor_id=self._actor_id, turn=self._turn_no, seq=live.seq)
        commit_riders.take()
        self._behaviour.on_recovered(live.state, ctx, crashes)
        live.seq = self._journal.commit(self._token, live.seq, self._system.lease_ms,
                                        ctx.events, [], [], ctx.record)
        self._system.redis.hdel(self._keys.meta, "crashes")
        self._after_commit(ctx, [])

    def _handle(self, source: Source[T], fresh: list[tuple[T, Message]],
                taken: list[T], plan: Plan | None = None) -> None:
        """Handle ``fresh`` (taken minus what was set aside or seen), commit, finish."""
        behaviour, live = self._behaviour, self._live
        taken_at = time.time()
        commit_riders.take()  # what a failed batch queued is not ours to write
        behaviour.on_batch_start(self._actor_id, self._turn_no, self._token)
        ctx = TurnContext(actor_id=self._actor_id, turn=self._turn_no, seq=live.seq)
        for item, msg in fresh:
            ctx.current_msg_id = msg.msg_id
            with structlog.contextvars.bound_contextvars(kind=msg.kind, msg_id=msg.msg_id):
                mark = (len(ctx.events), len(ctx.effects))
                try:
                    behaviour.handle(live.state, msg, ctx)
                except MessageRejected as exc:
                    del ctx.events[mark[0]:], ctx.effects[mark[1]:]
                    self._set_aside(item, f"rejected: {exc}")
                    continue
                except ActorElsewhere:
                    # Not this process's to run: nothing is decided, all goes back.
                    self._live.forget()
                    source.give_back(taken)
                    raise
                except OUTAGES as exc:
                    # Redis failed, not the message: nothing is set aside. The batch goes
                    # back uncommitted (if it can) and the turn fails; recovery takes the
                    # actor over when its lease runs out.
                    logger.warning("handler hit an outage; batch given back",
                                   error=f"{type(exc).__name__}: {exc}")
                    self._live.forget()
                    with contextlib.suppress(*OUTAGES):
                        source.give_back(taken)
                    raise
                except Exception as exc:
                    # The behaviour may have half-updated its state: set this message
                    # aside, give the rest back uncommitted and rebuild from the journal.
                    self._set_aside(item, f"handler raised {type(exc).__name__}: {exc}",
                                    traceback.format_exc())
                    source.give_back(taken)
                    live.rebuild()
                    return
        ctx.current_msg_id = None
        behaviour.settle(live.state, ctx)

        committed = effect_ids(live.seq, ctx.effects)
        then = plan(committed) if plan is not None and not ctx.rebuild else None
        try:
            new_seq, after = self._journal.commit_then(
                self._token, live.seq, self._system.lease_ms, ctx.events,
                [m.msg_id for _, m in fresh], committed, ctx.record, then,
                settled=ctx.settled)
        except SequenceConflict as exc:
            logger.warning("journal moved on; rebuilding state", actual_seq=exc.actual_seq)
            source.give_back(taken)
            live.rebuild()
            self._outbox.dispatch_left()  # whatever the other commit decided must go out
            return
        except LeaseLost:
            source.let_go(taken)
            raise
        live.seq = new_seq
        if then is not None:
            self.then_replies = after
        source.acknowledge(taken)
        self._committed(ctx, committed, [m for _, m in fresh], taken_at)

    def decided(self, message: Message, decision: Decision) -> None:
        """Finish the batch of the message in hand that ``early_turn`` decided and the
        begin's round trip committed (its state is the live state already)."""
        self._live.state, self._live.seq = decision.state, decision.new_seq
        self._in_hand.acknowledge([HeldMessage(message, self._keys.inhand)])
        self._committed(decision.ctx, decision.committed, [message], decision.taken_at)

    def _committed(self, ctx: TurnContext, committed: list[tuple[str, Any]],
                   handled: list[Message], taken_at: float) -> None:
        self._after_commit(ctx, committed)
        self._behaviour.on_batch_end(self._actor_id, self._turn_no, self._token)
        if self._system.instruments and handled:
            self._system.instruments.batch_committed(ctx, self._live.state, handled, taken_at)

    def _after_commit(self, ctx: TurnContext, committed: list[tuple[str, Any]]) -> None:
        self._outbox.stage(committed)
        if ctx.compact is not None:
            ended_at = self._live.seq if ctx.compact == "ended" else 0
            self._system.compactor.note(self._actor_id, ended_at)
        if ctx.rebuild:
            self._live.rebuild()  # the behaviour asked to be rebuilt from its journal
        self._behaviour.after_commit(self._live.state)

    def _set_aside(self, item: Taken, reason: str, detail: str | None = None) -> None:
        """Move one taken message to the dead letters and out of the actor's keys, now,
        in one round trip."""
        sys_ = self._system
        logger.error("message set aside as a dead letter", reason=reason)
        pipe = sys_.redis.pipeline(transaction=False)
        sys_.dead_letters.add(reason if detail is None else f"{reason}\n{detail}",
                              item.readable(), queue=self._keys.mailbox,
                              actor_id=self._actor_id, pipe=pipe)
        item.forget_in(pipe)
        pipe.execute()
        item.ack()


def _trusted(hint: tuple[str, bool] | None, msg_id: str) -> bool | None:
    """The take's answer for a message, when it was about this message's own id."""
    return hint[1] if hint is not None and hint[0] == msg_id else None
