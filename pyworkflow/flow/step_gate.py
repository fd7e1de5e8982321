"""A step attempt meets its step's concurrency limit and rate limit, on the worker.

Before the attempt runs (``worker.step_task.run_step``), after it took its step lease:

* **concurrency** (``@step(concurrency=Limit(...))``): take a slot of the attempt's
  limit key. With none free the attempt waits in the limit key's queue, its task kept
  there (``grants.step_payload``): the Celery message is acknowledged and no worker
  process waits. The slot that frees goes to the oldest waiter, whose task is sent
  again. While it runs, its slot is renewed by this process (``SlotKeeper``); a
  SIGKILLed worker's slots expire within ``STEP_SLOT_LEASE_MS``.
* **rate** (``@step(rate_limit="100/m", key=...)``): ``rate_take.lua`` says go, or
  reserves the attempt's start time; then a durable timer (``ids.rate_timer_id``) asks
  the run to send the attempt again at that time (``timer-fired`` with purpose
  ``rate-limit``), and the attempt, holding its reservation, runs then.

An attempt that waits or is deferred gives its step lease back (``StepLeases.set_aside``):
it has not started, so its next task must not count as a restart.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from actors import log as _log
from actors.effects import StartTimer

from .. import ids, keys, serialization
from ..registry import StepDef
from ..routing import celery_queues
from ..wire import StepAttempt, TimerFired, encode
from ..worker._scripts import script
from . import grants
from .limit import check_step_keys, key_value
from .slots import STEP_SLOT_LEASE_MS, Slots

logger = _log.get_logger("pyworkflow.flow.steps")

RATE_TAKE = "flow/rate_take"


class SlotKeeper:
    """Renews the slots of the step attempts running in this process (one thread)."""

    def __init__(self, slots: Slots) -> None:
        self._slots = slots
        self._held: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, limit: str, key: str, holder: str) -> None:
        with self._lock:
            self._held.setdefault((limit, key), set()).add(holder)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="pyworkflow-slots")
                self._thread.start()

    def drop(self, limit: str, key: str, holder: str) -> None:
        with self._lock:
            held = self._held.get((limit, key))
            if held is not None:
                held.discard(holder)
                if not held:
                    del self._held[(limit, key)]

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(STEP_SLOT_LEASE_MS / 1000 / 3):
            with self._lock:
                held = [(group, sorted(members)) for group, members in self._held.items()]
            for (limit, key), members in held:
                try:
                    self._slots.renew(limit, key, members, STEP_SLOT_LEASE_MS)
                except Exception as exc:
                    logger.warning("step slot renewal failed; retrying", error=str(exc))


class StepGate:
    """What a step attempt must pass before it runs; see the module docstring."""

    def __init__(self, system: Any, leases: Any, slots: Slots) -> None:
        self._system = system
        self._leases = leases
        self._slots = slots
        self._keeper = SlotKeeper(slots)

    def admit(self, defn: StepDef | None, task: StepAttempt,
              member: str) -> tuple[str, str, str] | None | bool:
        """``True``: run it, nothing held; a slot ``(limit, key, holder)``: run it, then
        ``done``; ``None``: it waits or was deferred (its lease given back)."""
        if defn is None or (defn.concurrency is None and defn.rate_limit is None):
            return True
        args = serialization.decode(task.args or [])
        kwargs = serialization.decode(task.kwargs or {})
        try:
            check_step_keys(defn, args, kwargs)
        except Exception as exc:  # checked at the call; a key function that changed since
            logger.warning("a step's limit key could not be computed: it runs unlimited",
                           run_id=task.run_id, step=task.step, error=str(exc))
            return True
        slot: tuple[str, str, str] | None = None
        if defn.concurrency is not None:
            limit = defn.concurrency
            name = f"step:{defn.name}"
            key = key_value(limit.key, defn.fn, args, kwargs)
            holder = ids.slot_holder_of_step(task.run_id, task.call_id, task.attempt)
            verdict = self._slots.acquire(
                name, key, holder, limit.max, "queue", STEP_SLOT_LEASE_MS,
                grants.step_payload(encode(task), self._queue_of(defn, task)))
            if verdict.state != "held":
                self._leases.set_aside(member)
                logger.info("step attempt waits for a slot", run_id=task.run_id,
                            step=task.step, key=key, held=verdict.held, max=limit.max)
                return None
            slot = (name, key, holder)
            self._keeper.hold(*slot)
        try:
            allowed = defn.rate_limit is None or self._rate_allows(defn, task, args, kwargs)
        except BaseException:  # an outage: the slot must not stay renewed by this process
            if slot is not None:
                self._keeper.drop(*slot)
            raise
        if not allowed:
            self._leases.set_aside(member)
            if slot is not None:
                self.done(slot)
            return None
        return slot if slot is not None else True

    def _queue_of(self, defn: StepDef, task: StepAttempt) -> str:
        """Where the waiting attempt's task goes again: the step's queue, else its run's
        (``routing``), as its run dispatched it."""
        queue = defn.queue or ids.run_route(task.run_id).queue
        return celery_queues(self._slots.prefix, queue)["steps"]

    def _rate_allows(self, defn: StepDef, task: StepAttempt, args: list[Any],
                     kwargs: dict[str, Any]) -> bool:
        rate = defn.rate_limit
        assert rate is not None
        key = key_value(defn.rate_key, defn.fn, args, kwargs)
        name = f"step:{defn.name}"
        prefix = self._slots.prefix
        go, at_ms = script(self._system.redis, RATE_TAKE)(
            keys=keys.rate_limit(prefix, name, key),
            args=[ids.step_attempt(task.run_id, task.call_id, task.attempt),
                  rate.interval_ms, rate.burst])
        if int(go):
            return True
        timer_id = ids.rate_timer_id(task.run_id, task.call_id, task.attempt)
        self._system.timers.schedule_at(timer_id, int(at_ms), self._system.timer_message(
            StartTimer(timer_id=timer_id, due_ms=int(at_ms), actor_id=task.run_id,
                       kind="timer-fired",
                       payload=encode(TimerFired("rate-limit", task.call_id, task.attempt)))))
        self._system.redis.zadd(keys.rate_index(prefix), {f"{name}\x1f{key}": int(at_ms)})
        grants.count_rate_limited(self._system.redis, prefix, defn.name)
        logger.info("step attempt deferred by its rate limit", run_id=task.run_id,
                    step=task.step, key=key, until_ms=int(at_ms))
        return False

    def done(self, slot: tuple[str, str, str] | bool) -> None:
        """The attempt ended (or was deferred): let its slot go to the next waiter."""
        if isinstance(slot, bool):
            return
        limit, key, holder = slot
        self._keeper.drop(limit, key, holder)
        out = self._slots.release(limit, key, holder)
        grants.deliver(self._system, self._slots.prefix, limit, key, out.grants,
                       self._leases.key)


_gate: StepGate | None = None


def install(gate: StepGate) -> None:
    """This process's gate (``flow.worker_side``): what ``step_task`` asks."""
    global _gate
    _gate = gate


def current() -> StepGate | None:
    return _gate
