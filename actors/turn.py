"""One turn of one actor: drain its mailbox in batches, commit, dispatch, end or chain.

The order inside a batch is what makes the runtime correct:

1. take messages (unacknowledged) and record their delivery tags with the lease,
   so recovery can put them back if this process dies;
2. drop messages whose ``msg_id`` the journal already holds (redeliveries) and set
   aside in the dead letters, at once and for good, what is malformed or addressed to
   another actor (a dead letter is taken out of the mailbox when it is recorded, so no
   later give-back, lost lease or crash brings it back to be dead-lettered twice);
3. let the behaviour turn the rest into events and effects;
4. commit events, seen msg_ids and effects in one script, fenced by the lease
   token and the expected seq (nothing is written if either fails);
5. acknowledge the messages, dispatch the effects, delete them from the outbox.

A turn ends by releasing the flag and then looking at the mailbox once more: a
sender that published before the release is seen by that look, and one that
published after it finds the flag free and starts a turn itself.

A turn may also start with one message *in hand* (``ActorSystem.deliver(inline=
True)``): a worker that produced the message and won the actor's activation handles
it right there, without the mailbox round trips. Such a message is not in the
mailbox until committed; if the process dies first, the sender's own recovery (for
a step, its lease) produces it again.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from . import log as _log
from .behaviour import MessageRejected, TurnContext
from .effects import EnqueueTask, effect_from_dict
from .journal import LeaseLost, SequenceConflict
from .mailbox import TakenEnvelope
from .message import MalformedMessage, Message

if TYPE_CHECKING:
    from .system import ActorSystem

#: Messages handled per commit.
BATCH_SIZE = 50
#: A turn that has worked this long hands over to a fresh turn task (fairness).
TURN_BUDGET_S = 2.0
#: How long a released turn may take to dispatch its last effects before the next turn
#: dispatches them itself (only matters if the releasing process died).
DISPATCHING_MARK_MS = 2_000

logger = _log.get_logger("actors.turn")


@dataclass(frozen=True)
class Begun:
    """What ``begin_turn.lua`` told a turn that owns its actor."""

    turn: int
    crashes: int
    last_seq: int
    outbox: int
    in_hand_seen: bool
    left_in_hand: bytes | None  # a message a dead turn held in hand: back to the mailbox
    stranded: list[str]


def begin(system: ActorSystem, actor_id: str, token: str, activate: bool,
          in_hand: Message | None = None) -> Begun | None:
    """Claim (``activate``) or confirm the actor for ``token``; None if not its owner."""
    k = system.actor_keys(actor_id)

    def build(pipe: Any) -> None:
        if activate:  # index first: if this process dies now, recovery finds the actor
            system.touch_index(pipe, actor_id, queued=False)
        system.scripts.call_in(
            pipe, "begin_turn",
            [k.activation, k.meta, k.inflight, k.journal, k.outbox, k.seen, k.inhand,
             k.dispatching, k.taken, k.mailbox],
            [token, system.lease_ms, "activate" if activate else "owned",
             in_hand.msg_id if in_hand else "", in_hand.encode() if in_hand else ""])
        if not activate:
            pipe.zadd(system.keys.lease_index, {actor_id: system.lease_score()})

    out = system.scripts.pipeline(build)[1 if activate else 0]
    if int(out[0]) == 0:
        return None
    return Begun(int(out[0]), int(out[1]), int(out[2]), int(out[3]), bool(int(out[4])),
                 out[5] or None, [t.decode() if isinstance(t, bytes) else t for t in out[6:]])


def run_turn(system: ActorSystem, actor_id: str, token: str) -> None:
    """Run one turn of ``actor_id`` if ``token`` still owns it; else do nothing."""
    begun = begin(system, actor_id, token, activate=False)
    if begun is None:
        logger.debug("stale turn ignored", actor_id=actor_id)
        return
    Turn(system, actor_id, token, begun).run()


class Turn:
    def __init__(self, system: ActorSystem, actor_id: str, token: str, begun: Begun,
                 in_hand: Message | None = None) -> None:
        self.system = system
        self.actor_id = actor_id
        self.token = token
        self.begun = begun
        self.in_hand = in_hand
        self.keys = system.actor_keys(actor_id)
        self.journal = system.journal(actor_id)
        self.behaviour = system.behaviour_for(actor_id)
        self.turn_no = begun.turn
        self.crashes = begun.crashes
        self.state: Any = None
        self.seq = 0
        # Committed effects not dispatched yet. They go out before the next batch, or,
        # when the turn ends, right *after* the actor is released: a step dispatched
        # while this turn still held the run would often finish before the release and
        # find the run busy, losing the in-place turn (see ``_end``).
        self._pending: list[tuple[str, Any]] = []
        self._dispatched: list[str] = []  # outbox entries to delete in the next round trip

    def run(self) -> None:
        sys_ = self.system
        self._restore_stranded(self.begun)
        sys_.leases.hold(self.actor_id, self.token)
        with structlog.contextvars.bound_contextvars(actor_id=self.actor_id, turn=self.turn_no):
            try:
                self._run()
            except LeaseLost:
                sys_.cache.evict(self.actor_id)
                logger.warning("lease lost; turn stopped, its messages go back to the mailbox")
            finally:
                sys_.leases.drop(self.actor_id)

    def _restore_stranded(self, begun: Begun) -> None:
        """Put back what a dead turn task of this actor had taken but not committed."""
        if begun.stranded:
            self.system.mailbox.restore(begun.stranded)
        if begun.left_in_hand:
            try:
                message = Message.decode(begun.left_in_hand)
            except MalformedMessage:
                return
            logger.info("a message a dead turn held in hand goes back to the mailbox",
                        msg_id=message.msg_id)
            self.system.mailbox.put(self.keys.mailbox, message)

    def _load_state(self, known_last_seq: int | None = None) -> None:
        cached = self.system.cache.take(self.actor_id)
        if cached is None:
            self.state, self.seq = self.behaviour.initial_state(self.actor_id), 0
        else:
            self.state, self.seq = cached
        if known_last_seq is not None and known_last_seq == self.seq:
            return  # the cached state is current: nothing to read
        for event in self.journal.read(self.seq):
            self.behaviour.apply(self.state, event)
            self.seq = event.seq

    def _run(self) -> None:
        self._load_state(self.begun.last_seq)
        if self.begun.outbox:
            self._dispatch_outbox()
        if self.crashes:
            self._acknowledge_crashes()
        if self.in_hand is not None:
            if self.begun.in_hand_seen:
                logger.info("dropped a redelivered message", msg_id=self.in_hand.msg_id)
            else:
                self._process([(None, self.in_hand)], [])
        started = time.monotonic()
        # After a message in hand the mailbox is almost always empty; when it is in this
        # Redis, ending the turn reads its length anyway, so skip the empty take.
        skip_take = self.in_hand is not None and self.system.mailbox_in_redis
        while True:
            if skip_take or not self._batch():
                skip_take = False
                if self._end():
                    return
                continue
            if time.monotonic() - started > TURN_BUDGET_S:
                # Hand the lease to a fresh turn task so other actors get the worker.
                logger.debug("turn budget spent; chaining the next turn")
                self.system.cache.put(self.actor_id, self.state, self.seq)
                self._dispatch_pending()
                self._flush_dispatched(also=lambda p: p.hdel(self.keys.meta, "running"))
                self.system.enqueue_task("actors.turn", [self.actor_id, self.token], {}, None,
                                         self.system.turn_queue)
                return

    def _acknowledge_crashes(self) -> None:
        """Tell the behaviour that turn tasks of this actor died (worker lost, or work
        that kills its worker) before any message is handled again, so it can record
        it and stop poison work."""
        logger.warning("earlier turn tasks of this actor died", crashes=self.crashes)
        ctx = TurnContext(actor_id=self.actor_id, turn=self.turn_no, seq=self.seq)
        self.behaviour.on_recovered(self.state, ctx, self.crashes)
        self.seq = self.journal.commit(self.token, self.seq, self.system.lease_ms, ctx.events,
                                       [], [], ctx.record)
        self.system.redis.hdel(self.keys.meta, "crashes")
        self._after_commit(ctx, [])

    def _dispatch_outbox(self) -> None:
        """Dispatch what an earlier turn committed but did not get to dispatch."""
        pending = self.system.redis.hgetall(self.keys.outbox)
        if not pending:
            return
        items = sorted(pending.items(), key=lambda kv: _effect_order(kv[0]))
        logger.info("dispatching effects left by an earlier turn", count=len(items))
        for effect_id, raw in items:
            self.system.dispatch_one(effect_from_dict(json.loads(raw)))
            self.system.redis.hdel(self.keys.outbox, effect_id)

    def _batch(self) -> bool:
        """Take and handle one batch from the mailbox; False when it was empty."""
        sys_ = self.system
        self._dispatch_pending()
        taken = self._take_from_redis() if sys_.mailbox_in_redis else self._take_with_kombu()
        if not taken:
            return False

        messages: list[tuple[Any, Message]] = []
        for raw in taken:
            try:
                message = Message.decode(raw.body)
            except MalformedMessage as exc:
                self._dead_letter(raw, str(exc))
                continue
            if message.actor_id != self.actor_id:
                # A message names its actor; one in another actor's mailbox (forged, or
                # misrouted) must not act on this one (e.g. wake its sleep).
                self._dead_letter(raw, f"addressed to actor {message.actor_id!r}, found in "
                                       f"the mailbox of {self.actor_id!r}")
                continue
            messages.append((raw, message))
        seen = self.journal.seen([m.msg_id for _, m in messages])
        fresh = [(raw, m) for (raw, m), dup in zip(messages, seen, strict=True) if not dup]
        if len(fresh) < len(messages):
            logger.info("dropped redelivered messages", count=len(messages) - len(fresh))
        self._process(fresh, taken)
        return True

    def _take_from_redis(self) -> list[Any]:
        """One round trip: take a batch (``take.lua``), renew the lease and the index."""
        sys_, k = self.system, self.keys

        def build(pipe: Any) -> None:
            sys_.scripts.call_in(pipe, "take", [k.mailbox, k.taken, k.activation],
                                 [self.token, sys_.lease_ms, BATCH_SIZE])
            pipe.zadd(sys_.keys.lease_index, {self.actor_id: sys_.lease_score()})
            if self._dispatched:
                pipe.hdel(k.outbox, *self._dispatched)

        items = sys_.scripts.pipeline(build)[0]
        self._dispatched = []
        if items and items[0] == -1:
            raise LeaseLost(self.actor_id)
        return [TakenEnvelope(item) for item in items]

    def _take_with_kombu(self) -> list[Any]:
        """Through Kombu (any transport): take, then record the delivery tags with the
        lease so recovery can put the messages back."""
        sys_ = self.system
        taken = sys_.mailbox.take(self.keys.mailbox, BATCH_SIZE)
        if not taken:
            return []
        tags = [m.delivery_tag for m in taken]

        def build(pipe: Any) -> None:
            pipe.rpush(self.keys.inflight, *tags)
            sys_.scripts.call_in(pipe, "renew", [self.keys.activation],
                                 [self.token, sys_.lease_ms])
            pipe.zadd(sys_.keys.lease_index, {self.actor_id: sys_.lease_score()})
            if self._dispatched:
                pipe.hdel(self.keys.outbox, *self._dispatched)

        if not sys_.scripts.pipeline(build)[1]:
            self._give_back(taken)
            raise LeaseLost(self.actor_id)
        self._dispatched = []
        return taken

    def _process(self, fresh: list[tuple[Any, Message]], taken: list[Any]) -> None:
        """Handle messages, commit, acknowledge and dispatch. ``raw`` is None for a
        message held in hand (it is not in the mailbox: nothing to acknowledge)."""
        sys_ = self.system
        self.behaviour.on_batch_start(self.actor_id, self.turn_no, self.token)
        ctx = TurnContext(actor_id=self.actor_id, turn=self.turn_no, seq=self.seq)
        for raw, msg in fresh:
            ctx.current_msg_id = msg.msg_id
            with structlog.contextvars.bound_contextvars(kind=msg.kind, msg_id=msg.msg_id):
                mark = (len(ctx.events), len(ctx.effects))
                try:
                    self.behaviour.handle(self.state, msg, ctx)
                except MessageRejected as exc:
                    del ctx.events[mark[0]:], ctx.effects[mark[1]:]
                    self._dead_letter(raw, f"rejected: {exc}", message=msg)
                    continue
                except Exception as exc:
                    # The behaviour may have half-updated its state: set this message
                    # aside, give the rest back uncommitted and rebuild from the journal.
                    self._dead_letter(raw, f"handler raised {type(exc).__name__}: {exc}",
                                      traceback.format_exc(), message=msg)
                    self._abandon_batch(taken)
                    self._requeue_in_hand([(r, m) for r, m in fresh if m is not msg])
                    self._load_fresh()
                    return
        ctx.current_msg_id = None
        self.behaviour.settle(self.state, ctx)

        effect_ids = [(f"{self.seq}.{i}", e) for i, e in enumerate(ctx.effects)]
        try:
            new_seq = self.journal.commit(self.token, self.seq, sys_.lease_ms, ctx.events,
                                          [m.msg_id for _, m in fresh], effect_ids,
                                          ctx.record)
        except SequenceConflict as exc:
            logger.warning("journal moved on; rebuilding state", actual_seq=exc.actual_seq)
            self._abandon_batch(taken)
            self._requeue_in_hand(fresh)
            self._load_fresh()
            self._dispatch_outbox()  # whatever the other commit decided must still go out
            return
        except LeaseLost:
            # Whoever took the actor over already put our taken envelopes back (recover
            # .lua); touching its 'taken' list now could drop its batch.
            self._give_back([r for r in taken if not isinstance(r, TakenEnvelope)])
            self._requeue_in_hand(fresh)
            raise
        self.seq = new_seq
        self._ack(taken)
        self._after_commit(ctx, effect_ids)
        self.behaviour.on_batch_end(self.actor_id, self.turn_no, self.token)

    def _after_commit(self, ctx: TurnContext, effect_ids: list[tuple[str, Any]]) -> None:
        self._pending.extend(effect_ids)
        if ctx.rebuild:
            self._load_fresh()  # the behaviour asked to be rebuilt from its journal
        self.behaviour.after_commit(self.state)

    def _dispatch_pending(self, watched: bool = False) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self.system.dispatch((e for _, e in pending), watched=watched)
            self._dispatched.extend(eid for eid, _ in pending)

    def _write_watches(self, pipe: Any) -> None:
        """Queue the watch entries of the pending tasks (see EnqueueTask) on ``pipe``."""
        now = time.time() * 1000
        for _, effect in self._pending:
            if isinstance(effect, EnqueueTask) and effect.watch_key and effect.watch_member:
                pipe.zadd(effect.watch_key, {effect.watch_member: now + effect.watch_ms})

    def _flush_dispatched(self, also: Any = None) -> None:
        if not self._dispatched and also is None:
            return
        pipe = self.system.redis.pipeline(transaction=False)
        if self._dispatched:
            pipe.hdel(self.keys.outbox, *self._dispatched)
        if also is not None:
            also(pipe)
        pipe.execute()
        self._dispatched = []

    def _abandon_batch(self, taken: list[Any]) -> None:
        """Give an uncommitted batch back to the mailbox, except what was set aside as
        dead letters (already out of it)."""
        self._give_back(taken)
        if taken:
            self.system.redis.delete(self.keys.inflight, self.keys.taken)

    def _requeue_in_hand(self, fresh: list[tuple[Any, Message]]) -> None:
        """A message held in hand that was not committed goes to the mailbox after all."""
        for raw, msg in fresh:
            if raw is None:
                self.system.mailbox.put(self.keys.mailbox, msg)

    def _load_fresh(self) -> None:
        self.system.cache.evict(self.actor_id)
        self._load_state()

    def _ack(self, raws: list[Any]) -> None:
        raws = [r for r in raws if not r.acknowledged]
        for raw in raws:
            raw.ack()
        if any(not isinstance(r, TakenEnvelope) for r in raws):
            self.system.redis.delete(self.keys.inflight)

    def _give_back(self, raws: list[Any]) -> None:
        """Return uncommitted messages to the mailbox (through Kombu, behind newer ones;
        from a Redis mailbox, back at the head in order). This only happens when a turn
        loses its lease, its seq, or its handler raises."""
        envelopes = [r for r in raws if isinstance(r, TakenEnvelope) and not r.acknowledged]
        if envelopes:
            pipe = self.system.redis.pipeline(transaction=True)
            pipe.delete(self.keys.taken)
            pipe.rpush(self.keys.mailbox, *[e.envelope for e in reversed(envelopes)])
            pipe.execute()
            for e in envelopes:
                e.acknowledged = True
        for raw in raws:
            if not isinstance(raw, TakenEnvelope) and not raw.acknowledged:
                raw.reject(requeue=True)

    def _dead_letter(self, raw: Any, reason: str, detail: str | None = None,
                     message: Message | None = None) -> None:
        """Move one taken message to the dead letters and out of the mailbox, now, in one
        round trip: from this actor's 'taken' list (Redis mailbox), by acknowledging it
        (Kombu), or from the in-hand slot (``raw`` None, ``message`` given)."""
        sys_, k = self.system, self.keys
        logger.error("message set aside as a dead letter", reason=reason)
        if raw is None:
            assert message is not None
            body: bytes | str = message.encode()
        else:
            body = _readable_body(raw)
        pipe = sys_.redis.pipeline(transaction=False)
        sys_.dead_letters.add(reason if detail is None else f"{reason}\n{detail}", body,
                              queue=k.mailbox, actor_id=self.actor_id, pipe=pipe)
        if isinstance(raw, TakenEnvelope):
            pipe.lrem(k.taken, 1, raw.envelope)  # type: ignore[arg-type]
        elif raw is None:
            pipe.delete(k.inhand)
        pipe.execute()
        if raw is not None and not raw.acknowledged:
            raw.ack()

    def _end(self) -> bool:
        """Release the actor; True when the turn chain is over, False when it must go on."""
        sys_ = self.system
        k = self.keys
        sys_.cache.put(self.actor_id, self.state, self.seq)
        list_key = [k.mailbox] if sys_.mailbox_in_redis else []

        dispatching = "1" if self._pending else "0"

        def build(pipe: Any) -> None:
            pipe.zscore(sys_.keys.lease_index, self.actor_id)
            sys_.scripts.call_in(pipe, "release",
                                 [k.activation, k.inflight, k.meta, k.dispatching, *list_key],
                                 [self.token, dispatching, DISPATCHING_MARK_MS])
            if self._dispatched:
                pipe.hdel(k.outbox, *self._dispatched)
            self._write_watches(pipe)

        index_score, waiting = sys_.scripts.pipeline(build)[:2]
        self._dispatched = []
        if int(waiting) == -1:
            waiting = sys_.mailbox.size(k.mailbox)
        if int(waiting) <= 0:
            # Released: now send what the last batch decided. Should this process die
            # here, the outbox still holds it and the lease index still points at the
            # actor (the entry is only dropped below), so recovery dispatches it.
            self._dispatch_pending(watched=True)
            dispatched, self._dispatched = self._dispatched, []

            def finish(pipe: Any) -> None:
                if dispatched:
                    pipe.hdel(k.outbox, *dispatched)
                    pipe.delete(k.dispatching)
                if index_score is not None:
                    sys_.scripts.call_in(pipe, "unindex", [sys_.keys.lease_index],
                                         [self.actor_id, repr(index_score)])

            if dispatched or index_score is not None:
                sys_.scripts.pipeline(finish)
            return True
        # Someone published before we let go. Take the flag back, unless a sender did.
        token = uuid.uuid4().hex
        begun = begin(sys_, self.actor_id, token, activate=True)
        if begun is None:
            return True
        self.token, self.begun, self.turn_no = token, begun, begun.turn
        sys_.leases.hold(self.actor_id, token)
        self._restore_stranded(begun)
        self._load_state(begun.last_seq)
        if self._pending:  # ours to send again, now that we own the actor once more
            self._dispatch_pending(watched=True)
            self._flush_dispatched(also=lambda p: p.delete(k.dispatching))
        return False


def _readable_body(raw: Any) -> bytes | str:
    """What a dead letter shows: the message's body when it can be read out of its
    envelope, else the envelope itself (both are what an operator needs to see)."""
    try:
        return raw.body  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001  (a broken envelope: show it as it is)
        return raw.envelope if isinstance(raw, TakenEnvelope) else repr(raw)[:1000]


def _effect_order(effect_id: bytes | str) -> tuple[int, int]:
    text = effect_id.decode() if isinstance(effect_id, bytes) else effect_id
    seq, _, idx = text.partition(".")
    return int(seq), int(idx or 0)
