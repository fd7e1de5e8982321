"""A workflow run as an actor: the behaviour the actor runtime drives.

Messages (``start``, ``step-completed``, ``timer-fired``, ``cancel``, …) become
journal events; between them the run's coroutine advances (:class:`Run`). The run's
record (status, result, error, waiting-on) is projected in the same commit. Which
handler takes a message is looked up in the command table (``commands``); the
behaviour itself only frames a turn: begin live, handle, settle, after commit.
"""

from __future__ import annotations

from typing import Any

from actors.behaviour import Behaviour, MessageRejected, TurnContext
from actors.event import Event
from actors.message import Message

from .. import wire
from ..journal_dictionary import RUN_JOURNAL_DICTIONARY
from .commands import MESSAGES, RECOVERY, TIMERS
from .ports import Ports
from .run import Run

#: A run asleep until further than this is not kept in the state cache (``worth_caching``).
FAR_WAKE_S = 60.0

#: Messages a finished run still handles: a duplicate start, an operator's retry.
_AFTER_THE_END = frozenset({"start", "retry"})
#: Messages whose sender was told they would be acted upon (``send_signal`` returned
#: the signal's id): reaching a finished run, one is refused (a dead letter saying so),
#: never dropped without a trace. The others a finished run drops: late step and child
#: reports, timers and wake-ups are the run's own business, a duplicate hook delivery
#: was recorded from the hook store when the run ended, and a cancel that lost a race
#: with the end (a schedule's overlap policy, a parent's close policy) changes nothing.
_REFUSED_AFTER_THE_END = frozenset({"signal"})


def _start(run: Run, message: wire.StartRun) -> None:
    run.start(message)


def _timer_fired(run: Run, message: wire.TimerFired) -> None:
    handler = TIMERS.get(message.purpose)
    if handler is None:
        raise MessageRejected(f"a timer with an unknown purpose {message.purpose!r}")
    handler(run, message)


def _wake(run: Run, message: wire.Wake) -> None:
    """Nothing to do: beginning the live turn recorded what the rebuilt code issued."""


_HANDLERS: dict[str, Any] = {"start": _start, "timer-fired": _timer_fired, "wake": _wake,
                             **MESSAGES}


def _nothing_yet(ctx: TurnContext) -> bool:
    """The run's journal is empty, and this batch has recorded nothing so far."""
    return ctx.seq == 0 and not ctx.events


class RunBehaviour(Behaviour[Run]):
    #: The engine decides from the run's state and the message alone; what its ports
    #: write during a turn (a hook's record, a child's index entry, a hook settled) is
    #: written again, to the same effect, when a message is handled twice.
    decides_early = True
    #: a run's sealed journal is compressed with the words every run's journal repeats
    journal_dictionary = RUN_JOURNAL_DICTIONARY

    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    def initial_state(self, actor_id: str) -> Run:
        return Run(actor_id, self.ports)

    def on_recovered(self, state: Run, ctx: TurnContext, crashes: int) -> None:
        state.begin_live(ctx)
        RECOVERY.recovered(state, crashes)
        state.end_live()

    def apply(self, state: Run, event: Event) -> None:
        state.apply(event)

    def handle(self, state: Run, message: Message, ctx: TurnContext) -> None:
        if state.ctx is None:
            state.begin_live(ctx)
        handler = _HANDLERS.get(message.kind)
        if handler is None:
            raise MessageRejected(f"a workflow run does not accept {message.kind!r} messages")
        if message.kind != "start" and _nothing_yet(ctx):
            # A run is made by its start. Anything else reaching an empty journal is
            # addressed to a run that was purged (a late signal, a timer) or never began:
            # handling it would write a journal and a record (``pending``) that no index
            # lists and no purge ever removes, and that accepts signals.
            raise MessageRejected("no such run (purged or never started)")
        if state.history.finished and message.kind not in _AFTER_THE_END:
            if message.kind in _REFUSED_AFTER_THE_END:
                raise MessageRejected(f"run already {state.history.status}")
            return  # a late report for a finished run: nothing left to decide
        try:  # the one place a run reads a message: its typed shape, or a dead letter
            typed = wire.decode_message(message.kind, message.payload)
        except wire.WireError as exc:
            raise MessageRejected(str(exc)) from None
        handler(state, typed)

    def settle(self, state: Run, ctx: TurnContext) -> None:
        if _nothing_yet(ctx):  # no run (every message refused): project no record
            state.ctx = None
            return
        if state.ctx is None:  # a batch of only duplicates: still flush and project
            state.begin_live(ctx)
        state.end_live()

    def after_commit(self, state: Run) -> None:
        state.run_after_commit()

    def worth_caching(self, state: Run) -> bool:
        """A finished or parked run expects no turn soon (a late report, a retry, a
        query): one that comes replays the journal. Nor does a run that only sleeps,
        and wakes more than ``FAR_WAKE_S`` from now: thousands of such runs would
        fill every process's cache (memory that grows with the sleepers) and push out
        the runs that are working, while its wake-up replays a short journal."""
        history = state.history
        if history.finished or history.parked is not None:
            return False
        open_calls = history.open.values()
        if not open_calls or any(call.kind != "sleep" for call in open_calls):
            return True
        soonest_ms = min(int(call.data.get("wake_at_ms") or 0) for call in open_calls)
        return soonest_ms - state.now() * 1000 <= FAR_WAKE_S * 1000
