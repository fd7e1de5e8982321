"""One turn of one actor: own it, put back what a dead turn left, handle batches, end.

A turn task runs only while its token owns the actor (it began one of the ways in
``turn_begin``). It first puts back what a dead turn task of the actor left behind
(``stranded``), dispatches what an earlier turn committed but did not send
(``outbox``) and tells the behaviour about turn tasks that died; then it handles
batches (``batch``) from the mailbox (read by the transport's ``mailbox_reader``)
until the mailbox is empty or its time budget is spent, and ends one of the ways in
``turn_end``: chained to a fresh turn task in the second case, else released.

A turn ends by releasing the flag and then looking at the mailbox once more: a
sender that published before the release is seen by that look, and one that
published after it finds the flag free and starts a turn itself. What the last
batch decided is dispatched right after the release (see ``outbox``).

A turn may also start with one message *in hand* (``fast.in_hand``), handled first,
without the mailbox round trips; its batch may have been decided and committed with
the begin (``fast.early_turn``), and its end may go in its commit's round trip
(``fast.end_in_commit``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from . import log as _log
from . import stranded
from .batch import Batches
from .elsewhere import ActorElsewhere, hand_back
from .fast.end_in_commit import EndedInCommit, EndInCommit
from .fast.end_in_place import ReleaseBehindKeptTask
from .journal import LeaseLost
from .live_state import LiveState
from .message import Message
from .outbox import Outbox
from .ownership import Begun, begin, queue_release
from .turn_end import Chain, Release, TurnEnd

if TYPE_CHECKING:
    from .fast.early_turn import Decision
    from .system import ActorSystem

#: A turn that has worked this long hands over to a fresh turn task (fairness).
TURN_BUDGET_S = 2.0

logger = _log.get_logger("actors.turn")


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
        #: writes sent with the release (``InHandTurn``); emptied once queued
        self.with_release: list[Callable[[Any], None]] = []
        #: the turn's end planned behind its in-hand batch's commit, and the end it made
        #: there (``fast.end_in_commit``), for the turn's end to only look at
        self._end_planned: EndInCommit | None = None
        self._ended: EndedInCommit | None = None
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
            except ActorElsewhere as exc:
                logger.info("this process cannot run the actor; turn handed back",
                            need=exc.need)
                hand_back(self, exc.need)
            except LeaseLost:
                self.live.forget()
                logger.warning("lease lost; turn stopped, its messages go back to the mailbox")
            finally:
                sys_.leases.drop(self.actor_id)

    def _run(self) -> None:
        self._first_batch()
        started = time.monotonic()
        # After a message in hand (or a take that emptied the mailbox) the mailbox is
        # almost always empty; when ending the turn reads its length anyway (a Redis
        # list), skip the empty take.
        skip_take = self.in_hand is not None and self.reader.length_key is not None
        while True:
            if skip_take or not self.batches.take_and_handle():
                skip_take = False
                if self._end().finish(self):
                    return
                continue
            if time.monotonic() - started > TURN_BUDGET_S:
                Chain().finish(self)
                return
            # That take emptied the mailbox: end now (the release reads its length in the
            # same atomic step and takes the actor back if a message came meanwhile).
            skip_take = self.batches.drained

    def _first_batch(self) -> None:
        """What comes before the mailbox: the state, what an earlier turn left in the
        outbox, dead turn tasks, and the message in hand (decided early, or handled)."""
        begun, decision = self.begun, self.decision
        if decision is not None and self.in_hand is not None:
            # Committed with the begin, which found no dead turn task (the guard): what
            # an earlier turn left in the outbox goes out first, then this batch's.
            if begun.outbox:
                self.outbox.dispatch_left(skip={eid for eid, _ in decision.committed})
            self.batches.decided(self.in_hand, decision)
            if decision.end is not None:
                self._ended = decision.end.outcome(decision.then_replies)
                if self._ended is not None and (begun.stranded or begun.left_in_hand):
                    # put back (``run``) after that release: take the actor back for them
                    self._ended = self._ended.put_back_after()
            return
        self.live.load(begun.last_seq, begun.journal)
        if begun.outbox:
            self.outbox.dispatch_left()
        if begun.crashes:
            self.batches.record_crashes(begun.crashes)
        if self.in_hand is not None:
            self.batches.handle_in_hand(self.in_hand, begun.in_hand_seen, self._plan)
            if self._end_planned is not None:
                self._ended = self._end_planned.outcome(self.batches.then_replies)

    def _end(self) -> TurnEnd:
        """How the turn ends now that its mailbox is empty: as its last commit's round
        trip ended it, else behind the task it keeps, else with a release of its own."""
        if self._ended is not None:
            ended, self._ended = self._ended, None
            return ended
        return ReleaseBehindKeptTask.keep(self) or Release()

    def _plan(self, committed: list[tuple[str, Any]]) -> Callable[[Any, str], None] | None:
        """For ``Batches.handle_in_hand``: the turn's end behind the commit, if it can go
        there (``EndInCommit``), with the writes meant for the release (they go out even
        if the commit fails: the begin holds the message already)."""
        end = self._end_planned = EndInCommit.plan(self.system, self.actor_id, self.token,
                                                   self.reader.length_key, committed)
        if end is None:
            return None

        def then(pipe: Any, commit_id: str) -> None:
            end.queue(pipe, commit_id, self.take_riders())

        return then

    # -- for the ends (``turn_end``) ----------------------------------------------------
    def take_riders(self) -> list[Callable[[Any], None]]:
        """The writes meant for the release (``with_release``), taken: sent once."""
        riders, self.with_release = self.with_release, []
        return riders

    def can_release_idle(self) -> bool:
        """Dropping the lease-index entry in the release (``release.lua``) needs the
        mailbox's list and the index on the actor's own server: a Redis-list mailbox,
        and not a Redis Cluster."""
        return self.reader.length_key is not None and self.system.single_server

    def queue_release(self, pipe: Any, dispatching: str, idle: bool,
                      riders: list[Callable[[Any], None]] | None = None) -> None:
        """Queue the release on ``pipe``, with ``riders`` (default: ``with_release``,
        taken); ``idle``: ``release.lua`` also drops the lease-index entry when the
        release leaves the actor idle."""
        if riders is None:
            riders = self.take_riders()
        queue_release(self.system, pipe, self.actor_id, self.token, self.reader.length_key,
                      dispatching, idle, riders)

    def take_back(self) -> bool:
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
