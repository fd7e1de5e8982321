"""The schedule as an actor: messages in, journaled decisions and effects out.

Messages: ``create``, ``declare`` (from ``@scheduled_workflow``), ``update``,
``pause``, ``resume``, ``delete``, ``trigger``, ``backfill``, ``fire`` (its own
durable timer) and ``run-ended`` (sent by a run it started, when the run ends).

Why it is built this way:

* One timer at a time, armed for the next firing; its id carries the schedule's
  generation and the fire time, and a ``fire`` that does not match the armed firing
  (stale after a pause or update, or a duplicate delivery) is ignored.
* A firing starts its run with a ``start`` message whose run id and message id are
  derived from (schedule, fire time): a replayed turn, a re-dispatched effect or a
  timer delivered twice is one run. The run id also carries the spec's route (decided
  when the schedule was made, by ``start()``'s decision), so every firing (the timer's,
  a catch-up, a trigger, a backfill, a buffered one) runs on the workflow's queue and
  priority.
* Firings missed while no worker ran are found when the late timer fires: the
  newest :data:`MAX_CATCH_UP` fire times from the armed one up to now (computed from
  the newest end, so a year without workers costs no more than a minute), handed to
  the overlap policy (``skip`` collapses them into the latest).
* A backfill is refused at the door when its range is in the future or holds more
  than :data:`MAX_BACKFILL` firings (``api.backfill_schedule`` counts, walking at
  most ``MAX_BACKFILL + 1`` of them; the refusal names the count and the limit), so
  one message's work is bounded: the actor takes the range's firings one at a time
  and stops at ``MAX_BACKFILL + 1``, refusing (dead-lettering) a stray message over
  the limit rather than starting a truncated part of it, and it never starts a
  firing after its own "now" (those are the timer's). Slices that re-send themselves
  were the other way; refusing is simpler to reason about (one message, one answer)
  and a wider range is a loop of calls for whoever really wants one.
* Firings that wait (``buffer_all``, while a run of the schedule goes on) are at most
  :data:`MAX_BUFFERED_FIRINGS`: one more is skipped, journaled as ``schedule_skipped``
  with reason ``buffer full``, so a run that never ends does not grow the buffer (the
  record's ``buffered`` field, rewritten each turn) without end; the schedule stays
  active and the buffered firings start one after another as runs end.
* Poison: a turn task of the schedule that dies (its worker killed, or the turn
  raised outside a handler) is reported by the runtime before the next message
  (``on_recovered``). After :data:`MAX_TURN_CRASHES` in a row with no turn committed
  in between, the schedule is parked in status ``error`` (shown by ``schedules
  list/show``): its timer is stale, and every message but ``delete``, ``resume`` and
  ``run-ended`` is refused, so the message that killed the turns goes to the dead
  letters instead of killing the next one. ``resume`` (after the cause is fixed) or
  ``delete`` end it. A handler that raises is already dead-lettered by the runtime,
  message by message.
* ``delete`` deletes whatever state the schedule is in, even one that never got
  created (a create refused by the actor leaves the API's first record behind).
* Pure: no Redis, no runtime; "now" comes from the clock it is given, and
  everything decided is in the events, so tests run it without Redis.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from typing import Any

from actors.behaviour import Behaviour, MessageRejected, TurnContext
from actors.effects import CancelTimer, Send, StartTimer
from actors.journal import Event
from actors.message import Message

from .. import events as ev
from .. import ids
from ..wire import CancelRun, StartRun, encode
from .errors import InvalidScheduleError
from .info import project
from .limits import (
    MAX_BACKFILL,
    MAX_BUFFERED_FIRINGS,
    MAX_CATCH_UP,
    MAX_NOTE_LENGTH,
    MAX_TURN_CRASHES,
)
from .overlap import OVERLAP_POLICIES, collapses_catch_up, decide
from .spec import ScheduleSpec, check_instant
from .state import SCHEDULE_ERRORED, SCHEDULE_RECOVERED, SCHEDULE_STEADY, ScheduleState, evolve

__all__ = ["FIRE", "MAX_BACKFILL", "MAX_CATCH_UP", "MAX_TURN_CRASHES", "ScheduleBehaviour"]

#: The timer message's kind.
FIRE = "fire"
#: What a schedule parked in "error" still accepts.
WHILE_PARKED = frozenset({"delete", "resume", "run-ended"})


class ScheduleBehaviour(Behaviour[ScheduleState]):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def initial_state(self, actor_id: str) -> ScheduleState:
        return ScheduleState(actor_id)

    def apply(self, state: ScheduleState, event: Event) -> None:
        evolve(state, event.type, event.data, event.ts)

    def handle(self, state: ScheduleState, message: Message, ctx: TurnContext) -> None:
        handler = _HANDLERS.get(message.kind)
        if handler is None:
            raise MessageRejected(f"a schedule does not accept {message.kind!r} messages")
        if state.status == "error" and message.kind not in WHILE_PARKED:
            raise MessageRejected(f"schedule {state.schedule_id} is parked in error "
                                  f"({state.error}); resume or delete it first")
        turn = Turn(state, ctx, int(self.clock() * 1000))
        turn.run(handler, message.payload)
        if state.crashes_in_a_row and state.status != "error":
            turn.emit(SCHEDULE_STEADY, {})  # committed only if the whole batch is

    def settle(self, state: ScheduleState, ctx: TurnContext) -> None:
        if state.status:
            ctx.project(**project(state))

    def on_recovered(self, state: ScheduleState, ctx: TurnContext, crashes: int) -> None:
        """Count turn tasks that died in a row; park the schedule past the limit."""
        if state.status in ("deleted", "error"):
            return  # nothing of it runs any more: no journal growth until someone acts
        turn = Turn(state, ctx, int(self.clock() * 1000))
        in_a_row = state.crashes_in_a_row + crashes
        turn.emit(SCHEDULE_RECOVERED, {"crashes": crashes, "in_a_row": in_a_row})
        if in_a_row >= MAX_TURN_CRASHES:
            turn.emit(SCHEDULE_ERRORED, {"reason": (
                f"its turns died {in_a_row} times in a row (limit {MAX_TURN_CRASHES}): "
                "the message they handled is dead-lettered (pyworkflow dead-letters list "
                f"--run-id {state.schedule_id}); fix the cause, then resume or delete it")})
        # The runtime does not settle this commit: the record must show it all the same.
        if state.status:
            ctx.project(**project(state))


class Turn:
    """One message's worth of decisions: emits an event and applies it at once."""

    def __init__(self, state: ScheduleState, ctx: TurnContext, now_ms: int) -> None:
        self.state, self.ctx, self.now_ms = state, ctx, now_ms
        self.sid = state.schedule_id

    def run(self, handler: Callable[[Turn, dict[str, Any]], None],
            payload: dict[str, Any]) -> None:
        try:
            handler(self, payload)
        except InvalidScheduleError as exc:  # the client checks first; this is a stray
            raise MessageRejected(str(exc)) from None

    def emit(self, etype: str, data: dict[str, Any] | None = None) -> None:
        event = self.ctx.emit(etype, data or {})
        evolve(self.state, etype, event.data, event.ts)

    @property
    def spec(self) -> ScheduleSpec:
        assert self.state.spec is not None
        return self.state.spec

    # -- the timer ----------------------------------------------------------------------
    def arm(self, after_ms: int) -> None:
        """Set the timer of the first firing after ``after_ms`` (or none: ended)."""
        nxt = self.spec.next_after(after_ms)
        self.emit(ev.SCHEDULE_ARMED, {"fire_ms": nxt})
        if nxt is not None:
            self.ctx.effect(StartTimer(
                timer_id=ids.schedule_timer_id(self.sid, self.state.generation, nxt),
                due_ms=nxt + self.spec.jitter_ms(self.sid, nxt), actor_id=self.sid,
                kind=FIRE, payload={"generation": self.state.generation, "fire_ms": nxt}))

    def disarm(self) -> None:
        if self.state.next_fire_ms is not None:
            self.ctx.effect(CancelTimer(ids.schedule_timer_id(
                self.sid, self.state.generation, self.state.next_fire_ms)))

    # -- firings --------------------------------------------------------------------------
    def run_id(self, fire_ms: int) -> str:
        """The run of a firing: derived from (schedule, fire time) and carrying the
        spec's route, so the run's turns and steps go where ``start()`` would send them."""
        return ids.scheduled_run_id(self.sid, fire_ms, self.spec.route)

    def due(self, fire_ms: int, reason: str, policy: str) -> None:
        """A firing is due: start its run, skip it or buffer it, per ``policy``."""
        run_id = self.run_id(fire_ms)
        state = self.state
        if fire_ms in state.recent_fires or fire_ms in state.buffered or run_id in state.running:
            self.emit(ev.SCHEDULE_SKIPPED, {"fire_ms": fire_ms, "reason": "already started"})
            return
        decision = decide(policy, len(state.running), len(state.buffered))
        if decision == "start":
            self.start(fire_ms, reason)
        elif decision == "skip":
            self.emit(ev.SCHEDULE_SKIPPED, {"fire_ms": fire_ms, "reason": f"overlap {policy}"})
        elif decision == "buffer" and len(state.buffered) >= MAX_BUFFERED_FIRINGS:
            self.emit(ev.SCHEDULE_SKIPPED, {"fire_ms": fire_ms, "reason": (
                f"buffer full: {len(state.buffered)} firings already wait for a run to end "
                f"(the limit, schedules.limits.MAX_BUFFERED_FIRINGS; overlap {policy})")})
        else:
            if decision == "cancel_and_buffer":
                self.cancel_running()
            self.emit(ev.SCHEDULE_BUFFERED, {"fire_ms": fire_ms, "reason": reason,
                                             "replace": decision == "cancel_and_buffer"})

    def start(self, fire_ms: int, reason: str) -> None:
        run_id = self.run_id(fire_ms)
        spec = self.spec
        fire_time = dt.datetime.fromtimestamp(fire_ms / 1000, dt.UTC).isoformat()
        start = StartRun(workflow=spec.workflow, args=spec.args, kwargs=spec.kwargs,
                         schedule_id=self.sid, fire_time=fire_time)
        self.ctx.effect(Send(run_id, "start", encode(start),
                             msg_id=ids.start_message_id(run_id)))
        self.emit(ev.SCHEDULE_FIRED, {"fire_ms": fire_ms, "run_id": run_id, "reason": reason})

    def cancel_running(self) -> None:
        for run_id in self.state.running:
            if run_id in self.state.cancel_sent:
                continue
            cancel = CancelRun(reason=f"schedule {self.sid}: a newer firing (overlap "
                                      "cancel_other)", force=True)
            self.ctx.effect(Send(run_id, "cancel", encode(cancel),
                                 msg_id=ids.schedule_cancel_message_id(self.sid, run_id)))
            self.emit(ev.SCHEDULE_CANCEL_SENT, {"run_id": run_id})

    def drain(self) -> None:
        """Start the oldest buffered firing once nothing is running."""
        if self.state.buffered and not self.state.running and self.state.exists:
            self.start(self.state.buffered[0], "buffered")


def _spec_from(turn: Turn, payload: dict[str, Any]) -> ScheduleSpec:
    spec = ScheduleSpec.from_dict(payload.get("spec") or {})
    if spec.interval_s is not None and spec.start_at_ms is None and spec.anchor_ms is None:
        spec = spec.updated(anchor_ms=turn.now_ms)
    return spec.check()


def _create(turn: Turn, payload: dict[str, Any]) -> None:
    if turn.state.exists:
        return  # created already (the client refuses this; a repeat lands here)
    turn.emit(ev.SCHEDULE_CREATED, {"spec": _spec_from(turn, payload).to_dict()})
    turn.arm(turn.now_ms)


def _declare(turn: Turn, payload: dict[str, Any]) -> None:
    if not turn.state.exists:
        _create(turn, payload)
    elif turn.spec.digest() != ScheduleSpec.from_dict(payload["spec"]).digest():
        _update(turn, {"changes": {k: v for k, v in payload["spec"].items() if k != "anchor_ms"}})


def _update(turn: Turn, payload: dict[str, Any]) -> None:
    if not turn.state.exists:
        return
    changes = dict(payload.get("changes") or {})
    if "interval_s" in changes or "cron" in changes:
        changes.setdefault("anchor_ms", None)
    spec = _spec_from(turn, {"spec": {**turn.spec.to_dict(), **changes}})
    turn.disarm()
    turn.emit(ev.SCHEDULE_UPDATED, {"spec": spec.to_dict()})
    if turn.state.status == "active":
        turn.arm(turn.now_ms)


def _pause(turn: Turn, payload: dict[str, Any]) -> None:
    if turn.state.status == "active":
        turn.disarm()
        note = payload.get("note")
        turn.emit(ev.SCHEDULE_PAUSED, {"note": None if note is None
                                       else str(note)[:MAX_NOTE_LENGTH]})


def _resume(turn: Turn, payload: dict[str, Any]) -> None:
    if turn.state.status == "error" and turn.state.spec is None:
        raise MessageRejected(f"schedule {turn.sid} was never created; delete it and create "
                              "it again")
    if turn.state.status in ("paused", "error"):
        turn.emit(ev.SCHEDULE_RESUMED, {})
        turn.arm(turn.now_ms)


def _delete(turn: Turn, payload: dict[str, Any]) -> None:
    if turn.state.status != "deleted":  # any state: a schedule stuck half-made too
        turn.disarm()
        turn.emit(ev.SCHEDULE_DELETED, {})


def _policy(turn: Turn, payload: dict[str, Any], default: str) -> str:
    policy = payload.get("overlap") or default
    if policy not in OVERLAP_POLICIES:
        raise MessageRejected(f"unknown overlap policy {policy!r}")
    return str(policy)


def _trigger(turn: Turn, payload: dict[str, Any]) -> None:
    if turn.state.exists:
        turn.due(turn.now_ms, "trigger", _policy(turn, payload, turn.spec.overlap))


def _backfill(turn: Turn, payload: dict[str, Any]) -> None:
    if not turn.state.exists:
        return
    policy = _policy(turn, payload, "allow_all")
    try:
        start_ms, end_ms = int(payload["start_ms"]), int(payload["end_ms"])
    except (KeyError, TypeError, ValueError):
        raise MessageRejected("a backfill needs integer start_ms and end_ms") from None
    check_instant("the backfill's start", start_ms)
    # Later firings are the timer's: started now, their real firing would be skipped.
    firings = turn.spec.firings(start_ms, min(end_ms, turn.now_ms))
    found = list(itertools.islice(firings, MAX_BACKFILL + 1))
    if len(found) > MAX_BACKFILL:
        raise MessageRejected(f"a backfill starts at most {MAX_BACKFILL} firings and this "
                              "range holds more; split it (nothing was started)")
    for fire_ms in found:
        turn.due(fire_ms, "backfill", policy)


def _fire(turn: Turn, payload: dict[str, Any]) -> None:
    state = turn.state
    fire_ms = int(payload.get("fire_ms", -1))
    if (state.status != "active" or payload.get("generation") != state.generation
            or fire_ms != state.next_fire_ms):
        return  # stale (paused, updated, deleted since it was armed) or a repeat
    due = [fire_ms, *turn.spec.newest(fire_ms, turn.now_ms, MAX_CATCH_UP)]
    del due[:-MAX_CATCH_UP]
    policy = turn.spec.overlap
    if collapses_catch_up(policy):
        due = due[-1:]
    for when in due:
        turn.due(when, "timer" if when == fire_ms else "catch-up", policy)
    turn.arm(max(turn.now_ms, due[-1]))


def _run_ended(turn: Turn, payload: dict[str, Any]) -> None:
    run_id = str(payload.get("run_id"))
    if run_id in turn.state.running:
        turn.emit(ev.SCHEDULE_RUN_ENDED, {"run_id": run_id, "status": payload.get("status")})
        turn.drain()


_HANDLERS: dict[str, Callable[[Turn, dict[str, Any]], None]] = {
    "create": _create, "declare": _declare, "update": _update, "pause": _pause,
    "resume": _resume, "delete": _delete, "trigger": _trigger, "backfill": _backfill,
    FIRE: _fire, "run-ended": _run_ended,
}
