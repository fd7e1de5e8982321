"""One turn of one actor: drain its mailbox in batches, commit, dispatch, end or chain.

The order inside a batch is what makes the runtime correct:

1. take messages (unacknowledged) and record their delivery tags with the lease,
   so recovery can put them back if this process dies;
2. drop messages whose ``msg_id`` the journal already holds (redeliveries) and set
   malformed ones aside in the dead letters;
3. let the behaviour turn the rest into events and effects;
4. commit events, seen msg_ids and effects in one script, fenced by the lease
   token and the expected seq (nothing is written if either fails);
5. acknowledge the messages, dispatch the effects, delete them from the outbox.

A turn ends by releasing the flag and then looking at the mailbox once more: a
sender that published before the release is seen by that look, and one that
published after it finds the flag free and starts a turn itself.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from . import log as _log
from .behaviour import MessageRejected, TurnContext
from .effects import effect_from_dict
from .journal import LeaseLost, SequenceConflict
from .message import MalformedMessage, Message

if TYPE_CHECKING:
    from .system import ActorSystem

#: Messages handled per commit.
BATCH_SIZE = 50
#: A turn that has worked this long hands over to a fresh turn task (fairness).
TURN_BUDGET_S = 2.0

logger = _log.get_logger("actors.turn")


def run_turn(system: ActorSystem, actor_id: str, token: str) -> None:
    """Run one turn of ``actor_id`` if ``token`` still owns it; else do nothing."""
    Turn(system, actor_id, token).run()


class Turn:
    def __init__(self, system: ActorSystem, actor_id: str, token: str) -> None:
        self.system = system
        self.actor_id = actor_id
        self.token = token
        self.keys = system.actor_keys(actor_id)
        self.journal = system.journal(actor_id)
        self.behaviour = system.behaviour_for(actor_id)
        self.turn_no = 0
        self.crashes = 0
        self.state: Any = None
        self.seq = 0

    def run(self) -> None:
        sys_ = self.system
        k = self.keys
        pipe = sys_.redis.pipeline(transaction=False)
        sys_.scripts.begin_turn(keys=[k.activation, k.meta, k.inflight],
                                args=[self.token, sys_.lease_ms], client=pipe)
        pipe.zadd(sys_.keys.lease_index, {self.actor_id: sys_.lease_score()})
        turn_no, crashes, *stranded = pipe.execute()[0]
        self.turn_no, self.crashes = int(turn_no), int(crashes)
        if not self.turn_no:
            logger.debug("stale turn ignored", actor_id=self.actor_id)
            return
        if stranded:
            sys_.mailbox.restore(t.decode() if isinstance(t, bytes) else t for t in stranded)
        sys_.leases.hold(self.actor_id, self.token)
        with structlog.contextvars.bound_contextvars(actor_id=self.actor_id, turn=self.turn_no):
            try:
                self._run()
            except LeaseLost:
                sys_.cache.evict(self.actor_id)
                logger.warning("lease lost; turn stopped, its messages go back to the mailbox")
            finally:
                sys_.leases.drop(self.actor_id)

    def _load_state(self) -> None:
        cached = self.system.cache.take(self.actor_id)
        if cached is None:
            self.state, self.seq = self.behaviour.initial_state(self.actor_id), 0
        else:
            self.state, self.seq = cached
        for event in self.journal.read(self.seq):
            self.behaviour.apply(self.state, event)
            self.seq = event.seq

    def _run(self) -> None:
        self._load_state()
        self._dispatch_outbox()
        if self.crashes:
            self._acknowledge_crashes()
        started = time.monotonic()
        while True:
            if not self._batch():
                if self._end():
                    return
                continue
            if time.monotonic() - started > TURN_BUDGET_S:
                # Hand the lease to a fresh turn task so other actors get the worker.
                logger.debug("turn budget spent; chaining the next turn")
                self.system.cache.put(self.actor_id, self.state, self.seq)
                self.system.redis.hdel(self.keys.meta, "running")
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
        """Handle one batch; False when the mailbox was empty."""
        sys_ = self.system
        taken = sys_.mailbox.take(self.keys.mailbox, BATCH_SIZE)
        if not taken:
            return False
        tags = [m.delivery_tag for m in taken]
        pipe = sys_.redis.pipeline(transaction=False)
        pipe.rpush(self.keys.inflight, *tags)
        sys_.scripts.renew(keys=[self.keys.activation], args=[self.token, sys_.lease_ms],
                           client=pipe)
        pipe.zadd(sys_.keys.lease_index, {self.actor_id: sys_.lease_score()})
        if not pipe.execute()[1]:
            self._give_back(taken)
            raise LeaseLost(self.actor_id)

        messages: list[tuple[Any, Message]] = []
        set_aside: list[Any] = []
        for raw in taken:
            try:
                messages.append((raw, Message.decode(raw.body)))
            except MalformedMessage as exc:
                self._dead_letter(raw.body, str(exc))
                set_aside.append(raw)
        seen = self.journal.seen([m.msg_id for _, m in messages])
        fresh = [(raw, m) for (raw, m), dup in zip(messages, seen, strict=True) if not dup]
        if len(fresh) < len(messages):
            logger.info("dropped redelivered messages", count=len(messages) - len(fresh))

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
                    self._dead_letter(raw.body, f"rejected: {exc}")
                    continue
                except Exception as exc:
                    # The behaviour may have half-updated its state: set this message
                    # aside, give the rest back uncommitted and rebuild from the journal.
                    self._dead_letter(raw.body, f"handler raised {type(exc).__name__}: {exc}",
                                      traceback.format_exc())
                    self._abandon_batch(taken, keep=[raw])
                    self._load_fresh()
                    return True
        ctx.current_msg_id = None
        self.behaviour.settle(self.state, ctx)

        effect_ids = [(f"{self.seq}.{i}", e) for i, e in enumerate(ctx.effects)]
        try:
            new_seq = self.journal.commit(self.token, self.seq, sys_.lease_ms, ctx.events,
                                          [m.msg_id for _, m in fresh], effect_ids,
                                          ctx.record)
        except SequenceConflict as exc:
            logger.warning("journal moved on; rebuilding state", actual_seq=exc.actual_seq)
            self._abandon_batch(taken, keep=set_aside)
            self._load_fresh()
            return True
        except LeaseLost:
            self._abandon_batch(taken, keep=set_aside)
            raise
        self.seq = new_seq
        self._ack(taken)
        self._after_commit(ctx, effect_ids)
        self.behaviour.on_batch_end(self.actor_id, self.turn_no, self.token)
        return True

    def _after_commit(self, ctx: TurnContext, effect_ids: list[tuple[str, Any]]) -> None:
        sys_ = self.system
        if effect_ids:
            sys_.dispatch(e for _, e in effect_ids)
            sys_.redis.hdel(self.keys.outbox, *[eid for eid, _ in effect_ids])
        if ctx.rebuild:
            self._load_fresh()  # the behaviour asked to be rebuilt from its journal
        self.behaviour.after_commit(self.state)

    def _abandon_batch(self, taken: list[Any], keep: list[Any]) -> None:
        """Give an uncommitted batch back to the mailbox, except the messages in ``keep``
        (already set aside as dead letters), which are acknowledged."""
        kept = {id(r) for r in keep}
        self._give_back([r for r in taken if id(r) not in kept])
        self._ack([r for r in taken if id(r) in kept])
        self.system.redis.delete(self.keys.inflight)

    def _load_fresh(self) -> None:
        self.system.cache.evict(self.actor_id)
        self._load_state()

    def _ack(self, raws: list[Any]) -> None:
        raws = [r for r in raws if not r.acknowledged]
        for raw in raws:
            raw.ack()
        self.system.redis.delete(self.keys.inflight)

    def _give_back(self, raws: list[Any]) -> None:
        """Return uncommitted messages to the mailbox (behind newer ones: this only
        happens when a turn loses its lease, its seq, or its handler raises)."""
        for raw in raws:
            if not raw.acknowledged:
                raw.reject(requeue=True)

    def _dead_letter(self, body: Any, reason: str, detail: str | None = None) -> None:
        logger.error("message set aside as a dead letter", reason=reason)
        self.system.dead_letters.add(self.actor_id, reason if detail is None
                                     else f"{reason}\n{detail}", body)

    def _end(self) -> bool:
        """Release the actor; True when the turn chain is over, False when it must go on."""
        sys_ = self.system
        index_score = sys_.redis.zscore(sys_.keys.lease_index, self.actor_id)
        sys_.cache.put(self.actor_id, self.state, self.seq)
        sys_.scripts.release(keys=[self.keys.activation, self.keys.inflight, self.keys.meta],
                             args=[self.token])
        if sys_.mailbox.size(self.keys.mailbox) == 0:
            if index_score is not None:
                sys_.scripts.unindex(keys=[sys_.keys.lease_index],
                                     args=[self.actor_id, repr(index_score)])
            return True
        # Someone published before we let go. Take the flag back, unless a sender did.
        token = uuid.uuid4().hex
        won = sys_.scripts.activate(keys=[self.keys.activation], args=[token, sys_.lease_ms])
        if not won:
            return True
        sys_.redis.zadd(sys_.keys.lease_index, {self.actor_id: sys_.lease_score()})
        self.token = token
        sys_.leases.hold(self.actor_id, token)
        cached = sys_.cache.take(self.actor_id)
        if cached is not None:
            self.state, self.seq = cached
        else:
            self._load_state()
        return False


def _effect_order(effect_id: bytes | str) -> tuple[int, int]:
    text = effect_id.decode() if isinstance(effect_id, bytes) else effect_id
    seq, _, idx = text.partition(".")
    return int(seq), int(idx or 0)
