"""How a turn ends: one of a few named ways, each a class whose docstring is its contract.

A turn that finds its mailbox empty (or its time budget spent) picks its end
(``Turn.run``) and calls ``finish(turn)``, which returns True when this turn task's
chain is over (the actor released, or handed to the next task) and False when the
actor was taken back and the turn goes on handling messages. The ends:

* :class:`Chain`: the time budget is spent; a fresh turn task takes the lease over.
* :class:`Release`: the release's own round trip, then what the last batch decided
  is dispatched (the general end).
* ``fast.end_in_place.ReleaseBehindKeptTask``: the one effect is a task this process
  keeps; the release rides on that task's first round trip.
* ``fast.end_in_commit.EndedInCommit``: the release already went in the last commit's
  round trip, with the effects; only what it found is looked at.

Whatever the end, a release is followed by the same steps (:func:`after_released`):
a message that came before the release takes the actor back (or, if a sender took
the flag first, is left to the sender's turn); the last batch's effects are sent
after the release (:func:`dispatch_released`); a release that found the actor not
ours leaves it to recovery and a new turn (:func:`released_by_another`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import log as _log
from .ownership import Released

if TYPE_CHECKING:
    from .turn import Turn

logger = _log.get_logger("actors.turn")


class TurnEnd:
    """One way a turn ends. ``finish(turn)``: True when the turn task's chain is over,
    False when the turn took the actor back and goes on."""

    def finish(self, turn: Turn) -> bool:
        raise NotImplementedError


class Chain(TurnEnd):
    """The turn's time budget is spent: keep the lease and hand it to a fresh turn task
    (queued behind other actors' turns, so they get the worker). What the last batch
    decided is dispatched first, and the meta's ``running`` mark is cleared with the
    outbox's flush: this task ended cleanly."""

    def finish(self, turn: Turn) -> bool:
        logger.debug("turn budget spent; chaining the next turn")
        turn.live.keep()
        turn.outbox.dispatch_pending()
        turn.outbox.flush(also=lambda pipe: pipe.hdel(turn.keys.meta, "running"))
        turn.system.start_turn(turn.actor_id, turn.token)
        return True


class Release(TurnEnd):
    """The general end: release the actor in a round trip of its own (with the writes
    that ride on the release, the deletion of what was already dispatched and the
    watch entries of what is not), then :func:`after_released`. The release reads the
    mailbox's length in the same atomic step, so a sender that published before it is
    seen, and one that publishes after it finds the flag free and starts a turn.

    With nothing left to dispatch and a Redis-list mailbox on one server, the release
    drops the lease-index entry itself when it leaves the actor idle (``release.lua``),
    saving the round trip after it."""

    def finish(self, turn: Turn) -> bool:
        sys_, k = turn.system, turn.keys
        turn.live.keep()
        dispatching = "1" if turn.outbox.has_pending else "0"
        idle = not turn.outbox.has_pending and turn.can_release_idle()

        def build(pipe: Any) -> None:
            pipe.zscore(sys_.keys.lease_index_of(turn.actor_id), turn.actor_id)
            turn.queue_release(pipe, dispatching, idle)
            turn.outbox.delete_dispatched_in(pipe)
            turn.outbox.write_watches(pipe)
            if idle:
                pipe.hlen(k.outbox)

        results = sys_.scripts.pipeline(build)
        index_score, reply = results[:2]
        released = Released.parse(reply)
        assert released is not None  # an unconditional release always runs
        return after_released(turn, released, index_score, results, idle)


def after_released(turn: Turn, released: Released, index_score: float | None,
                   results: list[Any], idle: bool) -> bool:
    """What every end does once its release ran (``results``: its round trip's, the
    outbox's length last when ``idle``); True when the chain is over."""
    if not released.ours:
        released_by_another(turn)
        return True
    if released.messages_waiting(turn.system, turn.keys) <= 0:
        if idle:
            after_finish(turn, results)
        else:
            dispatch_released(turn, index_score)
        return True
    # Someone published before we let go: take the flag back, unless a sender did.
    if turn.take_back():
        return False
    dispatch_released(turn, None)  # the sender's turn left our effects to us
    return True


def start_turn_if_waiting(turn: Turn, released: Released) -> None:
    """After a release that ran behind other work (a kept task's round trip, a commit):
    a message published before it found the actor busy and its sender started no turn,
    so start one now (also when the release found the actor no longer ours: see
    :func:`released_by_another`)."""
    if not released.ours or released.messages_waiting(turn.system, turn.keys) > 0:
        turn.system.activate(turn.actor_id)


def released_by_another(turn: Turn) -> None:
    """The release found the actor not ours: taken over after our lease lapsed, or this
    same release ran once already and the client sent it again (its reply lost as Redis
    restarted), having seen messages waiting. Either way: send what we committed, leave
    the lease-index entry to recovery, and start a turn in case a message waits (a spare
    turn finds nothing and ends)."""
    logger.info("the release found the actor not ours; leaving it to recovery and a "
                "new turn")
    dispatch_released(turn, None)
    turn.system.activate(turn.actor_id)


def dispatch_released(turn: Turn, index_score: float | None) -> None:
    """Released: now send what the last batch decided. Should this process die here, the
    outbox still holds it and the lease index still points at the actor (the entry is
    only dropped here, if nobody touched it since ``index_score``), so recovery
    dispatches it. When a task it sent is kept to run here (``fast.in_place``), this
    bookkeeping rides on that task's first round trip instead of its own."""
    sys_, k = turn.system, turn.keys
    turn.outbox.dispatch_pending(watched=True)

    def finish(pipe: Any) -> None:
        if turn.outbox.delete_dispatched_in(pipe):
            pipe.delete(k.dispatching)
        if index_score is not None:
            sys_.scripts.call_in(pipe, "unindex", [sys_.keys.lease_index_of(turn.actor_id)],
                                 [turn.actor_id, repr(index_score)])
        pipe.hlen(k.outbox)

    def after(results: list[Any]) -> None:
        after_finish(turn, results)

    if not sys_.in_place.defer(finish, after=after):
        after_finish(turn, sys_.scripts.pipeline(finish))


def after_finish(turn: Turn, results: list[Any]) -> None:
    """``results`` end with the outbox's length after the release's bookkeeping."""
    if int(results[-1]) > 0:
        # Effects of an earlier turn that died (or lost Redis) while dispatching them,
        # hidden from this turn by its dispatching mark: keep the actor in the lease
        # index so recovery comes back once the mark has expired and sends them.
        turn.system.scripts.pipeline(
            lambda pipe: turn.system.touch_index(pipe, turn.actor_id, queued=False))
