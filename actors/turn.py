"""One turn of one actor: own it, put back what a dead turn left, handle batches, end.

A turn task runs only while its token owns the actor (``begin``). It first puts
back what a dead turn task of the actor left behind (``stranded``), dispatches what
an earlier turn committed but did not send (``outbox``) and tells the behaviour
about turn tasks that died; then it handles batches (``batch``) from the mailbox
(read by the transport's ``mailbox_reader``) until the mailbox is empty or its time
budget is spent, and hands over to a fresh turn task in the second case.

A turn ends by releasing the flag and then looking at the mailbox once more: a
sender that published before the release is seen by that look, and one that
published after it finds the flag free and starts a turn itself. What the last
batch decided is dispatched right after the release (see ``outbox``).

A turn may also start with one message *in hand* (``ActorSystem.deliver(inline=
True)``): a worker that produced the message and won the actor's activation handles
it right there, without the mailbox round trips (see ``in_hand``).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from . import early_turn, stranded
from . import log as _log
from .batch import Batches
from .conditional_writes import ConditionalWrites
from .effects import EnqueueTask, StartTimer
from .in_place import KeptTask
from .journal import LeaseLost
from .live_state import LiveState
from .message import MalformedMessage, Message
from .outbox import Outbox

if TYPE_CHECKING:
    from .early_turn import Decision
    from .system import ActorSystem

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
    stored: bytes | None  # the message handed over with this turn (``hand_over.lua``)
    stranded: list[str]  # delivery tags a dead turn took: back to the mailbox


def begin(system: ActorSystem, actor_id: str, token: str, activate: bool,
          in_hand: Message | None = None, timer_id: str | None = None,
          stored: str | None = None) -> Begun | None:
    """Claim (``activate``) or confirm the actor for ``token``; None if not its owner.
    ``timer_id``: the due timer whose message is ``in_hand``, confirmed in the same
    round trip when the begin succeeds (on one server; else right after it).
    ``stored``: the msg_id of a message handed over in the actor's in-hand key with
    this turn (``ActorSystem.deliver_held``), returned as ``Begun.stored``."""
    at: list[int] = []
    out = system.scripts.pipeline(lambda pipe: at.append(queue_begin(
        system, pipe, actor_id, token, activate, in_hand, timer_id, stored)))
    begun = parse_begun(out[at[-1]])
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


def queue_release(system: ActorSystem, pipe: Any, actor_id: str, token: str,
                  length_key: str | None, dispatching: str, idle: bool,
                  riders: list[Callable[[Any], None]], after_commit: str | None = None) -> None:
    """Queue ``release.lua`` on ``pipe``, then ``riders``. ``length_key``: the mailbox's
    Redis list, if it is one; ``idle``: drop the lease-index entry when the release
    leaves the actor idle; ``after_commit``: release only if the commit of that id
    (queued just before) happened."""
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


def parse_begun(out: Any) -> Begun | None:
    """What ``begin_turn.lua`` replied; None when the caller does not own the actor."""
    if int(out[0]) == 0:
        return None
    return Begun(int(out[0]), int(out[1]), int(out[2]), int(out[3]), bool(int(out[4])),
                 out[5] or None, out[6] or None,
                 [t.decode() if isinstance(t, bytes) else t for t in out[7:]])


def run_turn(system: ActorSystem, actor_id: str, token: str) -> None:
    """Run one turn of ``actor_id`` if ``token`` still owns it; else do nothing."""
    begun = begin(system, actor_id, token, activate=False)
    if begun is None:
        logger.debug("stale turn ignored", actor_id=actor_id)
        return
    Turn(system, actor_id, token, begun).run()


def run_held_timer(system: ActorSystem, actor_id: str, token: str, held: Any,
                   timer_id: Any, early: bool = True) -> None:
    """Run the turn that ``ActorSystem.deliver_timers`` started with a due timer's
    message in hand. A stale turn task (the actor was taken over meanwhile) delivers
    the message the usual way, then confirms the timer; a task whose message cannot
    be read (not ours: the broker's bytes are input too) is dead-lettered and the
    actor's turn runs without it. ``early``: the turn may be decided before it begins
    (``early_turn``); not for a task the broker delivers again, whose first delivery
    may have died deciding: begun first, a death in the actor's code is counted."""
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
        run_turn(system, actor_id, token)
        return
    begun, decision = _begin_in_hand(system, token, False, message, timer_id, early)
    if begun is None:
        logger.debug("stale timer turn; delivering its message", actor_id=actor_id)
        system.deliver(message)
        system.timers.confirm(timer_id)
        return
    Turn(system, actor_id, token, begun, in_hand=message, decision=decision).run()


def run_stored(system: ActorSystem, actor_id: str, token: str, msg_id: Any) -> None:
    """Run the turn that ``ActorSystem.deliver_held`` started, with the message it
    handed over in the actor's in-hand key. Stale (the actor was taken over, and the
    message with it) or the message gone (someone put it back in the mailbox), the
    turn is an ordinary one."""
    if not isinstance(msg_id, str):
        run_turn(system, actor_id, token)
        return
    begun = begin(system, actor_id, token, activate=False, stored=msg_id)
    if begun is None:
        logger.debug("stale turn ignored", actor_id=actor_id)
        return
    message = None
    if begun.stored is not None:
        try:
            message = Message.decode(begun.stored)
        except MalformedMessage as exc:  # not ours to read: set aside, with the reason
            system.dead_letters.add(f"a message handed over in hand: {exc}", begun.stored,
                                    actor_id=actor_id)
            system.redis.delete(system.actor_keys(actor_id).inhand)
    Turn(system, actor_id, token, begun, in_hand=message).run()


def run_in_hand(system: ActorSystem, message: Message,
                with_release: Callable[[Any], None] | None = None) -> bool:
    """Take the flag of ``message``'s actor and run a turn here with the message in hand;
    False (nothing done) when the actor is busy. ``with_release``: a write the caller
    may make late, sent in the turn's release (or, should the turn end otherwise, once
    it has run) instead of in a round trip of its own."""
    token = uuid.uuid4().hex
    # Not decided early: the message (a step's result) exists only in this process until
    # the begin holds it, and workflow code that kills its process must find it held
    # there, and its death counted, not the step's result lost (``early_turn``).
    begun = begin(system, message.actor_id, token, activate=True, in_hand=message)
    if begun is None:
        return False
    turn = Turn(system, message.actor_id, token, begun, in_hand=message)
    if with_release is not None:
        turn.with_release.append(with_release)
    turn.run()
    if turn.with_release:  # the turn ended without a release of its own (chained, lost)
        def send(pipe: Any) -> None:
            for build in turn.with_release:
                build(pipe)

        system.scripts.pipeline(send)
    return True


def _begin_in_hand(system: ActorSystem, token: str, activate: bool, message: Message,
                   timer_id: str | None, early: bool) -> tuple[Begun | None, Decision | None]:
    """Begin a turn with ``message`` in hand: decided early and committed with the begin
    when ``early`` and this process caches the actor's state (``early_turn``), else a
    plain begin. Returns what the begin found (None: not our actor) and the committed
    decision.

    A decision whose turn can end in that round trip (``_EndInCommit``) ends there."""
    decision = (early_turn.decide(system, message) if early and system.single_server
                else None)
    if decision is None:
        return begin(system, message.actor_id, token, activate, in_hand=message,
                     timer_id=timer_id), None
    actor_id = message.actor_id
    end = None
    if not decision.ctx.rebuild:
        end = _EndInCommit.plan(system, actor_id, token,
                                system.mailbox_reader(system.actor_keys(actor_id)).length_key,
                                decision.committed)
        decision.end = end
    begun, committed = early_turn.begin_and_commit(
        system, actor_id, token, activate, message, timer_id, decision,
        None if end is None else lambda pipe, commit_id: end.queue(pipe, commit_id, []))
    return begun, (decision if committed else None)


class _EndInCommit:
    """A turn's end sent behind the commit of its message in hand, in its round trip,
    when the turn ends right after that batch (the release reads the mailbox's length,
    and takes nothing back) and the batch's effects can go there too: none; timers
    (``StartTimer``: scheduled there); or one task this process will keep to run in
    place (``in_place``: the writes the task's run begins with, ``InPlaceTasks.
    prepare``, a step's lease). Queued: those writes, the release, the deletion of the
    effects' outbox entries, each so that it happens only if the commit did
    (``if_committed.lua``, ``release.lua``; an entry exists only if it did), in that
    order: a write cut short never leaves an effect with neither its outbox entry nor
    its own record (lease, timer). Should this process die after it, a kept task is
    covered as one that started here (a step's lease expires and reports it lost);
    before it, the outbox still holds every effect."""

    def __init__(self, system: ActorSystem, actor_id: str, token: str, length_key: str,
                 effect_ids: list[str], writes: ConditionalWrites | None,
                 kept: KeptTask | None) -> None:
        self._system, self._actor_id, self._token = system, actor_id, token
        self._length_key = length_key
        self._effect_ids = effect_ids
        self._writes = writes
        self._kept = kept

    @classmethod
    def plan(cls, system: ActorSystem, actor_id: str, token: str, length_key: str | None,
             committed: list[tuple[str, Any]]) -> _EndInCommit | None:
        """The end for a batch committing ``committed``, or None (the turn ends as usual):
        a Redis-list mailbox on one server, and effects that can go behind the commit."""
        if length_key is None or not system.single_server:
            return None
        ids = [eid for eid, _ in committed]
        effects = [effect for _, effect in committed]
        if all(isinstance(e, StartTimer) for e in effects):
            writes = ConditionalWrites()
            for timer in effects:
                system.timers.schedule_writes(writes, timer.timer_id, timer.due_ms,
                                              system.timer_message(timer))
            return cls(system, actor_id, token, length_key, ids, writes or None, None)
        effect = effects[0] if len(effects) == 1 else None
        if not isinstance(effect, EnqueueTask):
            return None
        task = KeptTask(effect.name, effect.args, effect.kwargs, effect.task_id, effect.queue)
        if not system.in_place.would_keep(task):
            return None
        return cls(system, actor_id, token, length_key, ids,
                   system.in_place.prepare(task) or None, task)

    def queue(self, pipe: Any, commit_id: str, riders: list[Callable[[Any], None]]) -> None:
        sys_, k = self._system, self._system.actor_keys(self._actor_id)
        if self._writes is not None:
            sys_.scripts.call_in(pipe, "if_committed", [k.meta, *self._writes.keys],
                                 [commit_id, *self._writes.args])
        queue_release(sys_, pipe, self._actor_id, self._token, self._length_key, "0", True,
                      riders, after_commit=commit_id)
        if self._effect_ids:
            pipe.hdel(k.outbox, *self._effect_ids)
        pipe.hlen(k.outbox)

    def outcome(self, replies: list[Any] | None) -> tuple[int, int, KeptTask | None] | None:
        """(messages waiting at the release or -2, what the outbox held after it, the task
        to keep with its writes' replies), or None when it did not happen."""
        if replies is None:
            return None
        released = int(replies[1 if self._writes is not None else 0])
        if released == -3:
            return None
        kept = self._kept
        if kept is not None and self._writes is not None:
            kept = dataclasses.replace(kept, prepared=list(replies[0] or []))
        return released, int(replies[-1]), kept


class Turn:
    """The life of one turn task: from owning the actor to releasing it (or chaining)."""

    def __init__(self, system: ActorSystem, actor_id: str, token: str, begun: Begun,
                 in_hand: Message | None = None, decision: Decision | None = None) -> None:
        self.system = system
        self.actor_id = actor_id
        self.in_hand = in_hand
        #: the batch of ``in_hand``, decided and committed with the begin (``early_turn``)
        self.decision = decision
        self.keys = system.actor_keys(actor_id)
        self.live = LiveState(system, actor_id, system.behaviour_for(actor_id),
                              system.journal(actor_id))
        self.outbox = Outbox(system, self.keys)
        self.reader = system.mailbox_reader(self.keys)
        #: writes sent with the release (see ``run_in_hand``); emptied once queued
        self.with_release: list[Callable[[Any], None]] = []
        #: the turn's end sent behind its in-hand batch's commit (``_EndInCommit``), and
        #: what it found: (messages waiting at its release or -2, the outbox's length
        #: after it, the task kept); ``_end`` only looks at it
        self._end_planned: _EndInCommit | None = None
        self._ended: tuple[int, int, KeptTask | None] | None = None
        self._own(token, begun)

    def _own(self, token: str, begun: Begun) -> None:
        self.token, self.begun = token, begun
        self.batches = Batches(self.system, self.actor_id, token, begun.turn, self.live,
                               self.outbox, self.reader)

    def run(self) -> None:
        sys_, begun = self.system, self.begun
        stranded.put_back(sys_, self.keys, begun.stranded, begun.left_in_hand)
        sys_.leases.hold(self.actor_id, self.token)
        with structlog.contextvars.bound_contextvars(actor_id=self.actor_id,
                                                     turn=self.begun.turn):
            try:
                self._run()
            except LeaseLost:
                self.live.forget()
                logger.warning("lease lost; turn stopped, its messages go back to the mailbox")
            finally:
                sys_.leases.drop(self.actor_id)

    def _run(self) -> None:
        begun, decision = self.begun, self.decision
        if decision is not None and self.in_hand is not None:
            # Committed with the begin, which found no dead turn task (the guard): what
            # an earlier turn left in the outbox goes out first, then this batch's.
            if begun.outbox:
                self.outbox.dispatch_left(skip={eid for eid, _ in decision.committed})
            self.batches.decided(self.in_hand, decision)
            if decision.end is not None:
                self._ended = decision.end.outcome(decision.then_replies)
                if (self._ended is not None and self._ended[0] == 0
                        and (begun.stranded or begun.left_in_hand)):
                    # put back (``run``) after that release: take the actor back for them
                    self._ended = (1, *self._ended[1:])
        else:
            self.live.load(begun.last_seq)
            if begun.outbox:
                self.outbox.dispatch_left()
            if begun.crashes:
                self.batches.record_crashes(begun.crashes)
            if self.in_hand is not None:
                self.batches.handle_in_hand(self.in_hand, begun.in_hand_seen, self._plan)
                if self._end_planned is not None:
                    self._ended = self._end_planned.outcome(self.batches.then_replies)
        started = time.monotonic()
        # After a message in hand (or a take that emptied the mailbox) the mailbox is
        # almost always empty; when ending the turn reads its length anyway (a Redis
        # list), skip the empty take.
        skip_take = self.in_hand is not None and self.reader.length_key is not None
        while True:
            if skip_take or not self.batches.take_and_handle():
                skip_take = False
                if self._end():
                    return
                continue
            if time.monotonic() - started > TURN_BUDGET_S:
                self._chain()
                return
            # That take emptied the mailbox: end now (the release reads its length in the
            # same atomic step and takes the actor back if a message came meanwhile).
            skip_take = self.batches.drained

    def _chain(self) -> None:
        """Hand the lease to a fresh turn task, so other actors get the worker."""
        logger.debug("turn budget spent; chaining the next turn")
        self.live.keep()
        self.outbox.dispatch_pending()
        self.outbox.flush(also=lambda pipe: pipe.hdel(self.keys.meta, "running"))
        self.system.start_turn(self.actor_id, self.token)

    def _end(self) -> bool:
        """Release the actor; True when the turn chain is over, False when it must go on."""
        if self._ended is not None:
            return self._end_in_commit()
        if self._end_in_place():
            return True
        sys_, k = self.system, self.keys
        self.live.keep()
        dispatching = "1" if self.outbox.has_pending else "0"
        # Nothing left to dispatch and the mailbox in this Redis: the release drops the
        # lease-index entry itself when it leaves the actor idle, saving the round trip
        # after it (``release.lua``).
        idle_release = not self.outbox.has_pending and self._can_release_idle()

        def build(pipe: Any) -> None:
            pipe.zscore(sys_.keys.lease_index_of(self.actor_id), self.actor_id)
            self._queue_release(pipe, dispatching, idle_release)
            self.outbox.delete_dispatched_in(pipe)
            self.outbox.write_watches(pipe)
            if idle_release:
                pipe.hlen(k.outbox)

        results = sys_.scripts.pipeline(build)
        index_score, waiting = results[:2]
        return self._after_released(int(waiting), index_score, results, idle_release)

    def _after_released(self, waiting: int, index_score: float | None, results: list[Any],
                        idle: bool) -> bool:
        """What ``_end`` does once the release ran and found ``waiting`` messages
        (``results``: its round trip's, the outbox's length last when ``idle``)."""
        if waiting == -2:
            self._released_by_another()
            return True
        if waiting == -1:
            waiting = self.system.mailbox.size(self.keys.mailbox)
        if waiting <= 0:
            if idle:
                self._after_finish(results)
            else:
                self._dispatch_released(index_score)
            return True
        # Someone published before we let go: take the flag back, unless a sender did.
        if self._take_back():
            return False
        self._dispatch_released(None)  # the sender's turn left our effects to us
        return True

    def _end_in_place(self) -> bool:
        """End a turn whose one effect is a task this process keeps (``in_place``): keep
        it, and put the release itself off to the kept task's first round trip, with the
        outbox entry's deletion and the lease-index entry's removal; False (nothing
        done) when the turn ends otherwise.

        The kept task runs only after that round trip, so the actor is free while it
        runs, exactly as if it had been dispatched after the release. Should this
        process die first, the actor is still owned and its outbox still holds the
        task: its lease expires and recovery dispatches it. A message that arrived
        before the release (its sender found the actor busy) starts a turn task once
        the release has run (``after``), instead of being taken back here."""
        sys_ = self.system
        effect = self.outbox.single_pending()
        if effect is None or not self._can_release_idle() or not sys_.in_place.offer(
                KeptTask(effect.name, effect.args, effect.kwargs, effect.task_id,
                         effect.queue)):
            return False
        self.live.keep()
        self.outbox.mark_pending_dispatched()  # kept: its entry goes with the release

        riders, self.with_release = self.with_release, []  # they go with the release

        def release(pipe: Any) -> None:
            self._queue_release(pipe, "0", True, riders)
            self.outbox.delete_dispatched_in(pipe)

        if not sys_.in_place.defer(release, after=self._after_release):
            self._after_release(sys_.scripts.pipeline(release))
        return True

    def _plan(self, committed: list[tuple[str, Any]]) -> Callable[[Any, str], None] | None:
        """For ``Batches.handle_in_hand``: the turn's end behind the commit, if it can go
        there (``_EndInCommit``), with the writes meant for the release (they go out even
        if the commit fails: the begin holds the message already)."""
        end = self._end_planned = _EndInCommit.plan(self.system, self.actor_id, self.token,
                                                    self.reader.length_key, committed)
        if end is None:
            return None

        def then(pipe: Any, commit_id: str) -> None:
            riders, self.with_release = self.with_release, []
            end.queue(pipe, commit_id, riders)

        return then

    def _end_in_commit(self) -> bool:
        """End a turn whose end went in its last commit's round trip, with its effects
        (their entries deleted there too): only look at what the release found, and keep
        the task it kept."""
        assert self._ended is not None
        (waiting, outbox_left, kept), self._ended = self._ended, None
        self.live.keep()
        self.outbox.forget_pending()
        if kept is None:
            return self._after_released(waiting, None, [outbox_left], idle=True)
        self.system.in_place.keep(kept)
        self._after_release([waiting])
        return True

    def _can_release_idle(self) -> bool:
        """Dropping the lease-index entry in the release (``release.lua``) needs the
        mailbox's list and the index on the actor's own server: a Redis-list mailbox,
        and not a Redis Cluster."""
        return self.reader.length_key is not None and self.system.single_server

    def _queue_release(self, pipe: Any, dispatching: str, idle: bool,
                       riders: list[Callable[[Any], None]] | None = None) -> None:
        """Queue the release on ``pipe``, with ``riders`` (default: ``with_release``,
        taken); ``idle``: ``release.lua`` also drops the lease-index entry when the
        release leaves the actor idle."""
        if riders is None:
            riders, self.with_release = self.with_release, []
        queue_release(self.system, pipe, self.actor_id, self.token, self.reader.length_key,
                      dispatching, idle, riders)

    def _after_release(self, results: list[Any]) -> None:
        """A message published before the deferred release found the actor busy: its
        sender started no turn, so start one now (also when the release found the actor
        no longer ours: see ``_released_by_another``)."""
        waiting = int(results[0])
        if waiting == -1:
            waiting = self.system.mailbox.size(self.keys.mailbox)
        if waiting > 0 or waiting == -2:
            self.system.activate(self.actor_id)

    def _released_by_another(self) -> None:
        """The release found the actor not ours: taken over after our lease lapsed, or
        this same release ran once already and the client sent it again (its reply lost
        as Redis restarted), having seen messages waiting. Either way: send what we
        committed, leave the lease-index entry to recovery, and start a turn in case a
        message waits (a spare turn finds nothing and ends)."""
        logger.info("the release found the actor not ours; leaving it to recovery and a "
                    "new turn")
        self._dispatch_released(None)
        self.system.activate(self.actor_id)

    def _dispatch_released(self, index_score: float | None) -> None:
        """Released: now send what the last batch decided. Should this process die here,
        the outbox still holds it and the lease index still points at the actor (the
        entry is only dropped here, if nobody touched it since ``index_score``), so
        recovery dispatches it. When a task it sent is kept to run here (``in_place``),
        this bookkeeping rides on that task's first round trip instead of its own."""
        sys_, k = self.system, self.keys
        self.outbox.dispatch_pending(watched=True)

        def finish(pipe: Any) -> None:
            if self.outbox.delete_dispatched_in(pipe):
                pipe.delete(k.dispatching)
            if index_score is not None:
                sys_.scripts.call_in(pipe, "unindex", [sys_.keys.lease_index_of(self.actor_id)],
                                     [self.actor_id, repr(index_score)])
            pipe.hlen(k.outbox)

        if not sys_.in_place.defer(finish, after=self._after_finish):
            self._after_finish(sys_.scripts.pipeline(finish))

    def _after_finish(self, results: list[Any]) -> None:
        if int(results[-1]) > 0:
            # Effects of an earlier turn that died (or lost Redis) while dispatching them,
            # hidden from this turn by its dispatching mark: keep the actor in the lease
            # index so recovery comes back once the mark has expired and sends them.
            self.system.scripts.pipeline(
                lambda pipe: self.system.touch_index(pipe, self.actor_id, queued=False))

    def _take_back(self) -> bool:
        """Own the actor again after a release, if its flag is still free."""
        token = uuid.uuid4().hex
        begun = begin(self.system, self.actor_id, token, activate=True)
        if begun is None:
            return False
        self._own(token, begun)
        self.system.leases.hold(self.actor_id, token)
        stranded.put_back(self.system, self.keys, begun.stranded, begun.left_in_hand)
        self.live.load(begun.last_seq)
        if self.outbox.has_pending:  # ours to send again, now that we own the actor
            self.outbox.dispatch_pending(watched=True)
            self.outbox.flush(also=lambda pipe: pipe.delete(self.keys.dispatching))
        return True
