"""``WorkflowEnvironment``: the real engine, in this process, on a virtual clock.

No Redis, no Celery, no threads. The environment plays the actor runtime's part
with plain data: a mailbox (one FIFO for every run, so runs interleave as they
would on one worker), a journal and a record per run, timers in a heap, and step
attempts run in-process (real, or mocked with ``mock_step``). The engine is the
same code the workers run (``pyworkflow.engine``) with in-memory ports, so what a
test sees (events, statuses, retries, cancellation, children, signals, values,
patches, run timeouts) is what a worker would do.

Time is virtual: when nothing is left to do but wait, the clock jumps to the next
timer, so a workflow that sleeps 30 days, waits an hour between retries and gives a
hook 7 days completes in milliseconds. ``advance`` moves the clock by hand;
``start`` returns a handle to drive a run step by step.

Where a worker's behaviour depends on things an in-process runtime has too, it is
the worker's: ``start(..., idempotency_key=K)`` gives the same run for the same key
(the rules of :mod:`pyworkflow.worker.idempotency`; the keys live in this environment's
memory, for as long as it does), a step's ``check_cancellation()`` raises once its
run is being cancelled, and a step's ``timeout`` is enforced as a worker without
prefork enforces it (see ``step_runner.py``; a step is timed by the wall clock).
"""

from __future__ import annotations

import collections
import difflib
import functools
import heapq
import json
from typing import Any, Self

from actors.behaviour import MessageRejected, TurnContext
from actors.effects import CancelTimer, Effect, EnqueueTask, Send, StartTimer
from actors.journal import Event
from actors.message import Message, new_msg_id
from actors.timers import timer_message_id

from .. import wire
from .._start_plan import StartPlan, plan_start
from ..client.hooks import checked_payload, delivery_message_id
from ..client.run_queries import check_signal_target, result_of, signal_message
from ..durations import parse_duration
from ..engine import Ports, Run, RunBehaviour
from ..engine.ports import MemoryHookStore, MemoryRunStore
from ..errors import (
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
    RunNotFoundError,
)
from ..hook_errors import hook_error
from ..hook_info import HookInfo, parse_schema
from ..ids import STEP_TASK
from ..registry import get_step, list_steps
from ..run_info import RunInfo, run_info_from_record
from ..worker.idempotency import IfFinished, check_if_finished, holder_verdict
from .clock import Clock, VirtualClock
from .step_runner import StepMock, run_attempt

#: How many turns and step attempts one drive may take before the environment calls
#: it a loop (a workflow that never waits on anything durable).
MAX_ACTIONS = 100_000


class RunHandle:
    """A run started in the environment."""

    def __init__(self, env: WorkflowEnvironment, run_id: str) -> None:
        self._env = env
        self.run_id = run_id

    def info(self) -> RunInfo:
        return self._env.get_run(self.run_id)

    def result(self, follow: bool = True) -> Any:
        """Drive the environment until this run settles; its result (or its error).
        A run that continued as new is followed to the end of its chain."""
        return result_of(self._env.wait(self.run_id, follow=follow))

    def hooks(self, status: str | None = "pending") -> list[HookInfo]:
        return self._env.hooks(self.run_id, status)

    def events(self) -> list[dict[str, Any]]:
        return self._env.events(self.run_id)


class WorkflowEnvironment:
    """Runs workflows in-process with a virtual clock; use it as a (async) context
    manager or on its own."""

    def __init__(self, start_time: float | None = None, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or VirtualClock(start_time)
        self.hook_store = MemoryHookStore(self.clock)
        self.runs_store = MemoryRunStore()
        self.behaviour = RunBehaviour(Ports(hooks=self.hook_store, runs=self.runs_store,
                                            clock=self.clock))
        self.journals: dict[str, list[Event]] = {}
        self.records: dict[str, dict[str, str]] = {}
        self.dead_letters: list[tuple[Message, str]] = []
        self._states: dict[str, Run] = {}
        self._seen: dict[str, set[str]] = collections.defaultdict(set)
        self._mailbox: collections.deque[Message] = collections.deque()
        self._steps: collections.deque[dict[str, Any]] = collections.deque()
        self._timers: list[tuple[int, int, str]] = []  # (due ms, order, timer id)
        self._timer_messages: dict[str, tuple[int, Message]] = {}
        self._timer_order = 0
        self._mocks: dict[str, StepMock] = {}
        #: idempotency key -> the run it names (``start(..., idempotency_key=...)``)
        self.idempotency_keys: dict[str, str] = {}

    # -- context managers --------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._mailbox.clear()
        self._steps.clear()
        self._timers.clear()

    # -- what a test does --------------------------------------------------------------
    def mock_step(self, step: Any, return_value: Any = None, side_effect: Any = None) -> None:
        """Replace a step (the decorated function or its name) in this environment.
        A name no step is registered under is refused at once: a mock under a typo
        would never be called, and the real step would run in its place."""
        if isinstance(step, str):
            name = step
        else:
            defn = getattr(step, "__pyworkflow_step__", None)
            if defn is None:
                raise TypeError(f"mock_step takes a step (decorated with @step) or its name, "
                                f"not {step!r}")
            name = defn.name
        if get_step(name) is None:
            known = [s.name for s in list_steps()]
            close = difflib.get_close_matches(name, known, n=3)
            hint = (f"; did you mean {', '.join(map(repr, close))}?" if close
                    else f"; registered steps: {', '.join(known) or 'none'}" if len(known) <= 20
                    else "")
            raise LookupError(f"mock_step({name!r}): no step is registered under that name "
                              f"(is the module defining it imported?){hint}")
        self._mocks[name] = StepMock(return_value, side_effect)

    def start(self, workflow: Any, *args: Any, idempotency_key: str | None = None,
              if_finished: IfFinished = "return", queue: str | None = None,
              priority: int | None = None, **kwargs: Any) -> RunHandle:
        """Start a run (as ``pyworkflow.start`` does) and run it until it waits. With
        ``idempotency_key`` the same key gives the same run, and ``if_finished`` says
        what a key whose run has ended does, as for ``pyworkflow.start``. ``queue`` and
        ``priority`` are checked as ``pyworkflow.start`` checks them, then ignored: one
        process runs everything, in order (see ``pyworkflow.routing``)."""
        plan = self._plan(workflow, args, kwargs, idempotency_key, if_finished, queue,
                          priority)
        handle = RunHandle(self, plan) if isinstance(plan, str) else self._start_planned(plan)
        self._drain()
        return handle

    def _plan(self, workflow: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
              key: str | None, if_finished: IfFinished, queue: str | None = None,
              priority: int | None = None) -> StartPlan | str:
        """The new run's plan, or the id of the run ``key`` already names when that is
        what ``pyworkflow.start`` would return (the same checks, in the same order)."""
        if key is not None:
            check_if_finished(if_finished)
        plan = plan_start(workflow, args, kwargs, key, queue, priority)
        if key is None:
            return plan
        held = self.idempotency_keys.get(key)
        holder = self.get_run(held) if held is not None and held in self.records else None
        if holder is not None and holder_verdict(key, holder, if_finished) == "return":
            return holder.run_id
        return plan

    def _start_planned(self, plan: StartPlan) -> RunHandle:
        """Put the run's record and start message in place (nothing runs yet)."""
        key = plan.record.get("idempotency_key")
        if key is not None:
            self.idempotency_keys[key] = plan.run_id
        self.records[plan.run_id] = dict(plan.record)
        self.journals[plan.run_id] = []
        self._mailbox.append(Message("start", plan.run_id, plan.message, msg_id=plan.msg_id,
                                     sent_at=self.clock.now()))
        self._after_action()
        return RunHandle(self, plan.run_id)

    def run(self, workflow: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a run and drive it (skipping ahead through its waits) to its result."""
        return self.start(workflow, *args, **kwargs).result()

    def advance(self, duration: Any) -> None:
        """Move the clock by ``duration``, firing every timer due on the way."""
        target_ms = self.clock.now_ms() + int(parse_duration(duration) * 1000)
        self._drain()
        while (due_ms := self._next_due()) is not None and due_ms <= target_ms:
            self._fire_next()
            self._drain()
        self.clock.set_ms(target_ms)

    def wait(self, run_id: str, follow: bool = True) -> RunInfo:
        """Drive until the run settles (ends, or parks), jumping to each next timer;
        with ``follow``, on to the last run of a continue-as-new chain."""
        info = self._wait_one(run_id)
        while follow and info.continued_to:
            info = self._wait_one(info.continued_to)
        return info

    def _wait_one(self, run_id: str) -> RunInfo:
        self._drain()
        while not self.get_run(run_id).settled:
            if self._next_due() is None:
                info = self.get_run(run_id)
                waiting = json.loads(self.records[run_id].get("waiting_on", "[]"))
                raise RuntimeError(
                    f"run {run_id} is {info.status}, waiting on {', '.join(waiting) or '?'}, "
                    "and nothing else can happen: resume its hook, send its signal or "
                    "advance the clock first")
            self._fire_next()
            self._drain()
        return self.get_run(run_id)

    def send_signal(self, run_id: str, name: str, payload: Any = None,
                    signal_id: str | None = None) -> str:
        """``pyworkflow.send_signal``: the same checks and errors (``RunFinishedError``
        for a finished run), then the run handles it; returns the signal's id."""
        msg_id, message = signal_message(name, payload, signal_id)
        check_signal_target(self.get_run(run_id))
        self._deliver(Message("signal", run_id, message, msg_id=msg_id))
        self._drain()
        return msg_id

    def resume_hook(self, token: str, payload: Any = None) -> HookInfo:
        """Deliver ``payload`` to a hook, with the same checks and errors as
        ``pyworkflow.resume_hook``."""
        hook = self.hook_store.hooks.get(token)
        if hook is None:
            raise hook_error(HookNotFoundError, token)
        checked = checked_payload(hook.name, payload, parse_schema(hook.schema))
        move = self.hook_store.claim(token, json.dumps(checked))
        if not move.moved:
            if move.status == "received":
                raise hook_error(HookAlreadyReceivedError, token)
            raise hook_error(HookExpiredError, token)
        self._deliver(Message("hook-received", hook.run_id,
                              wire.encode(wire.HookDelivery(token, hook.call_id, checked)),
                              msg_id=delivery_message_id(token, move.rejected)))
        self._drain()
        return self._hook_info(token)

    def cancel(self, run_id: str, reason: str | None = None) -> RunInfo:
        info = self.get_run(run_id)
        if not info.finished:
            self._deliver(Message("cancel", run_id,
                                  wire.encode(wire.CancelRun(reason=reason, force=True))))
            self._drain()
        return self.get_run(run_id)

    def retry(self, run_id: str) -> RunInfo:
        info = self.get_run(run_id)
        if info.status in ("parked", "failed"):
            self._deliver(Message("retry", run_id, {}))
            self._drain()
        return self.get_run(run_id)

    # -- what a test reads ---------------------------------------------------------------
    def get_run(self, run_id: str) -> RunInfo:
        record = self.records.get(run_id)
        if record is None:
            raise RunNotFoundError(run_id)
        return run_info_from_record(run_id, {k.encode(): v.encode() for k, v in record.items()})

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """The run's journal, as ``pyworkflow runs logs --output json`` shows it."""
        self.get_run(run_id)
        return [{"seq": e.seq, "type": e.type, "timestamp": e.ts, "data": e.data}
                for e in self.journals[run_id]]

    def hooks(self, run_id: str | None = None, status: str | None = "pending") -> list[HookInfo]:
        return [self._hook_info(token) for token, hook in self.hook_store.hooks.items()
                if (run_id is None or hook.run_id == run_id)
                and (status is None or self._hook_info(token).status == status)]

    def children(self, run_id: str) -> list[str]:
        return [e.data["child_run_id"] for e in self.journals.get(run_id, [])
                if e.type == "child_started"]

    def _hook_info(self, token: str) -> HookInfo:
        hook = self.hook_store.hooks[token]
        status = hook.status
        if status == "pending" and hook.expires_at_ms is not None \
                and hook.expires_at_ms <= self.clock.now_ms():
            status = "expired"
        return HookInfo(token, hook.name, hook.run_id, hook.call_id, status,
                        None if hook.expires_at_ms is None else hook.expires_at_ms / 1000,
                        hook.created_at)

    # -- the runtime's part ----------------------------------------------------------
    def _deliver(self, message: Message) -> None:
        self._mailbox.append(message)

    def _drain(self) -> None:
        """Handle every message and run every step attempt that is ready, in order."""
        for _ in range(MAX_ACTIONS):
            self._take_handovers()
            if self._mailbox:
                self._turn(self._mailbox[0])
                self._mailbox.popleft()
            elif self._steps:
                job = self._steps[0]
                run_id = job["run_id"]
                outcome = run_attempt(wire.decode(wire.StepAttempt, job), self._mocks,
                                      self.clock.now_ms,
                                      functools.partial(self._cancel_requested, run_id))
                kind, payload = outcome.kind, wire.encode(outcome)
                self._steps.popleft()
                self._take_handovers()  # what arrived while the step ran came before it
                self._deliver(Message(kind, run_id, payload))
            else:
                return
            self._after_action()
        raise RuntimeError(f"more than {MAX_ACTIONS} turns and steps without waiting: "
                           "a workflow that never waits on anything durable?")

    def _after_action(self) -> None:
        """Called after each turn and step attempt (and a start): a point where the
        environment's state is whole. The local runtime saves it here."""

    def _take_handovers(self) -> None:
        """Called before each turn and before a step's outcome is delivered: the local
        runtime moves in here what another thread handed over (a cancel). Nothing
        reaches a virtual-clock environment but from the thread driving it."""

    def _cancel_requested(self, run_id: str) -> bool:
        """What a running step's ``check_cancellation`` reads: the ``cancel_requested``
        field a cancel's turn projects onto the run's record (as a worker's probe
        reads it in Redis)."""
        return self.records.get(run_id, {}).get("cancel_requested") == "1"

    def _state(self, run_id: str) -> Run:
        state = self._states.get(run_id)
        if state is None:
            state = self.behaviour.initial_state(run_id)
            for event in self.journals.get(run_id, []):
                self.behaviour.apply(state, event)
            self._states[run_id] = state
        return state

    def _turn(self, message: Message) -> None:
        run_id = message.actor_id
        if message.msg_id in self._seen[run_id]:
            return  # a redelivery: its effects are in the journal already
        journal = self.journals.setdefault(run_id, [])
        self.records.setdefault(run_id, {})
        state = self._state(run_id)
        ctx = TurnContext(actor_id=run_id, turn=len(journal) + 1, seq=len(journal))
        ctx.current_msg_id = message.msg_id
        try:
            self.behaviour.handle(state, message, ctx)
        except MessageRejected as exc:
            self.dead_letters.append((message, str(exc)))
            self._states.pop(run_id, None)  # rebuilt from the journal, as a worker would
            return
        self.behaviour.settle(state, ctx)
        for new in ctx.events:  # as the journal stores and returns them (JSON)
            journal.append(Event(len(journal) + 1, new.type, json.loads(json.dumps(new.data)),
                                 self.clock.now(), new.msg_id))
        self.records[run_id].update(ctx.record)
        self._seen[run_id].add(message.msg_id)
        for effect in ctx.effects:
            self._dispatch(effect)
        self.behaviour.after_commit(state)
        if ctx.rebuild:
            self._states.pop(run_id, None)

    def _dispatch(self, effect: Effect) -> None:
        if isinstance(effect, Send):
            if effect.kind == "start" and effect.actor_id not in self.records:
                self.records[effect.actor_id] = {"status": "pending", "created_at":
                                                 repr(self.clock.now())}
            self._deliver(Message(effect.kind, effect.actor_id, effect.payload,
                                  msg_id=effect.msg_id or new_msg_id()))
        elif isinstance(effect, StartTimer):
            message = Message(effect.kind, effect.actor_id, effect.payload,
                              msg_id=timer_message_id(effect.timer_id))
            self._timer_order += 1
            self._timer_messages[effect.timer_id] = (self._timer_order, message)
            heapq.heappush(self._timers, (effect.due_ms, self._timer_order, effect.timer_id))
        elif isinstance(effect, CancelTimer):
            self._timer_messages.pop(effect.timer_id, None)
        elif isinstance(effect, EnqueueTask):
            if effect.name != STEP_TASK:
                raise RuntimeError(f"the test environment runs no task {effect.name!r}")
            self._steps.append(effect.kwargs)

    def _next_due(self) -> int | None:
        """When the next live timer is due (cancelled ones on top are dropped), so
        ``advance`` never fires a timer beyond where it was asked to go."""
        while self._timers:
            due_ms, order, timer_id = self._timers[0]
            scheduled = self._timer_messages.get(timer_id)
            if scheduled is not None and scheduled[0] == order:
                return due_ms
            heapq.heappop(self._timers)
        return None

    def _fire_next(self) -> None:
        """Move the clock to the next live timer and deliver its message. A wall clock
        woken before the timer is due (a cancel handed over from another thread)
        leaves the timer in place: the caller drains and comes back."""
        due_ms = self._next_due()
        if due_ms is None or not self.clock.set_ms(due_ms):
            return
        _, _, timer_id = heapq.heappop(self._timers)
        self._deliver(self._timer_messages.pop(timer_id)[1])
