"""Step leases: noticing, within seconds, that a step attempt's worker died.

A step task holds a lease (a sorted-set entry scored by its expiry) that a thread
in its process renews while the step runs. A SIGKILLed worker stops renewing; the
maintenance loop of any live worker then claims the expired entry (only one
worker's ZREM succeeds) and reports the attempt to its run as failed with
``worker_lost``, under the same message id the attempt's own result would have
used, so if the attempt did finish after all, only one of the two is recorded.
The attempt is also marked dead, so if Celery redelivers its task later (after the
broker's visibility timeout) the redelivery does not run it again.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from actors import Message
from actors import log as _log
from actors.fast.conditional_writes import ConditionalWrites
from actors.fast.in_place import DeferredOps, InPlaceTasks

from .. import keys
from ..defaults import DISPATCH_CHECK_MS, QUEUED_WATCH_MS
from ..ids import step_attempt, step_result_message_id, step_undelivered_message_id
from ..wire import StepFailure, StepOutcome, StepUndelivered, encode

#: How long a step attempt's lease lasts without renewal: a SIGKILLed worker's attempt
#: is noticed 2-3 s after the kill plus one maintenance pass (about a second), then
#: retried. It was 5 s; the chaos run's goal is a lost step redone within 10 s at p99.
LEASE_MS = 3_000
#: The renewal thread's pace: a third of the lease, so a process whose threads stall
#: up to 2 s (CPU load, a Redis hiccup) still renews in time (the lease-under-load
#: tests hold a 2 s turn lease renewed every 0.67 s in the same ratio).
RENEW_EVERY_S = LEASE_MS / 1000 / 3
#: A worker renews the lease of a task it received but has not started for this long
#: at most. A task its pool never starts (a child that died as it was handed the job)
#: then expires and is sent again; one that waits behind long steps may run twice (its
#: result is recorded once).
RESERVED_MAX_S = 30.0
#: A claimed watch whose handling failed is looked at again this soon.
RETRY_LOOK_MS = 1_000
DEAD_MARK_TTL_S = 3 * 3600  # longer than the broker's visibility timeout (1 h)

logger = _log.get_logger("pyworkflow.step_leases")


def _attempt_of(member: str) -> tuple[str, int, int]:
    """``(run_id, call_id, attempt)`` of a lease member (``ids.step_attempt``)."""
    run_id, call_id, attempt = member.rsplit("|", 2)
    return run_id, int(call_id), int(attempt)


def message_in_hand(system: Any, run_id: str) -> Message | None:
    """The message a turn of ``run_id`` held in hand (in the runtime's in-hand slot) when
    its process died, if any. The one place pyworkflow looks at that slot: the actor
    runtime has no read of it of its own yet (wanted: ``ActorSystem.message_in_hand``);
    until then this goes through the runtime's public key layout (``actor_keys``)."""
    raw = system.redis.get(system.actor_keys(run_id).inhand)
    return Message.decode(raw) if raw else None


class StepLeases:
    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self.key = keys.step_leases(prefix)
        self._dead_prefix = keys.step_lease_dead_prefix(prefix)
        self._prefix = prefix
        self._starts_prefix = keys.step_lease_starts_prefix(prefix)
        self._held: set[str] = set()
        #: reservations (received, not started) and when they were made: renewed only
        #: for RESERVED_MAX_S, so a task the pool never starts is not covered forever
        self._reserved: dict[str, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        #: ``unserved(run_id, call_id, attempt)``: True when the attempt's queue has no
        #: live reader and the hook keeps watching it (``hand_back``); None: never
        self.unserved: Callable[[str, int, int], bool] | None = None
        #: ``backlogged()``: task messages waiting in the step queues (0: an attempt not
        #: started is in none of them), None when unknown; None here: never asked, and an
        #: attempt not started by its watch is sent again
        self.backlogged: Callable[[], int | None] | None = None

    def hold(self, run_id: str, call_id: int, attempt: int,
             before: DeferredOps | None = None) -> tuple[str, str]:
        """Take the attempt's lease, in one round trip (which also carries ``before``,
        commands the task that ran before this one here put off). The verdict: ``run``;
        ``dead`` when the attempt was already reported lost (a late redelivery of its
        task: skip it); ``restarted`` when it started once before (its worker died
        mid-step and the broker handed the task back: report it lost rather than run it
        again)."""
        member = step_attempt(run_id, call_id, attempt)
        writes = ConditionalWrites()
        self.hold_writes(run_id, call_id, attempt, writes)
        pipe = self._redis.pipeline(transaction=False)
        writes.queue_on(pipe)
        if before is None:
            dead, starts = pipe.execute()[:2]
        else:
            # The lease before the put-off commands (they end the previous turn, delete
            # the outbox entry that would send this task again): a write cut short by
            # a dying process never leaves the task with neither.
            before.build(pipe)
            results = pipe.execute(raise_on_error=False)
            own, put_off = results[:4], results[4:]
            before.done(put_off)
            for result in own:
                if isinstance(result, Exception):
                    raise result
            dead, starts = own[:2]
        return member, self._verdict(member, dead, starts)

    def hold_writes(self, run_id: str, call_id: int, attempt: int,
                    writes: ConditionalWrites) -> None:
        """The writes of :meth:`hold` (four: the dead mark's check, the start count and
        its expiry, the lease), also for the commit of the turn that keeps this attempt
        to run in place (``InPlaceTasks.prepare``); their replies go to :meth:`held`."""
        member = step_attempt(run_id, call_id, attempt)
        starts = keys.step_starts(self._prefix, run_id)
        writes.add("EXISTS", self._dead_prefix + member)
        writes.add("HINCRBY", starts, f"{call_id}|{attempt}", 1)
        writes.add("EXPIRE", starts, DEAD_MARK_TTL_S)
        writes.add("ZADD", self.key, time.time() * 1000 + LEASE_MS, member)

    def held(self, run_id: str, call_id: int, attempt: int,
             replies: list[Any]) -> tuple[str, str]:
        """:meth:`hold`'s verdict, from the replies of :meth:`hold_writes` (made already)."""
        member = step_attempt(run_id, call_id, attempt)
        return member, self._verdict(member, replies[0], replies[1])

    def _verdict(self, member: str, dead: Any, starts: Any) -> str:
        if dead:
            self._redis.zrem(self.key, member)
            return "dead"
        if int(starts) > 1:
            return "restarted"
        with self._lock:
            self._reserved.pop(member, None)  # started: renewed for as long as it runs
        self._keep(member)
        return "run"

    def reserve(self, run_id: str, call_id: int, attempt: int) -> None:
        """Cover an attempt from the moment a worker *receives* its task: a worker that
        dies with tasks reserved but not started would otherwise leave them in the
        broker's unacked set until its visibility timeout (an hour), with no lease to
        expire. The attempt's own ``hold`` takes over the same lease when it starts."""
        member = step_attempt(run_id, call_id, attempt)
        self._redis.zadd(self.key, {member: time.time() * 1000 + LEASE_MS})
        with self._lock:
            self._reserved[member] = time.monotonic()
        self._keep(member)

    def release_reservations(self) -> None:
        """Warm shutdown: the broker gets the reserved tasks back at once; their leases
        must not expire and report healthy attempts lost."""
        with self._lock:
            held, self._held = list(self._held), set()
        if held:
            self._redis.zrem(self.key, *held)

    def _keep(self, member: str) -> None:
        with self._lock:
            self._held.add(member)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._renew_loop, daemon=True,
                                                name="pyworkflow-step-leases")
                self._thread.start()

    def drop(self, member: str, later: InPlaceTasks | None = None, sent: bool = False) -> None:
        """End the lease; with ``later``, in the round trip of the task kept to run next
        here, if there is one (late is harmless: an expired lease of a finished attempt
        reports it lost under its result's message id, which its run already has);
        ``sent``: ``drop_in_pipe``'s command was sent already, stop renewing only."""
        with self._lock:
            self._held.discard(member)
        if sent:
            return
        key = self.key
        if later is None or not later.defer(lambda pipe: pipe.zrem(key, member)):
            self._redis.zrem(key, member)

    def set_aside(self, member: str) -> None:
        """The attempt did not start after all (it waits for a concurrency slot, or its
        rate limit deferred it): its lease and start count go, so its next task is a
        first start, and no lease reports it lost meanwhile."""
        with self._lock:
            self._held.discard(member)
            self._reserved.pop(member, None)
        pipe = self._redis.pipeline(transaction=False)
        run_id, call_id, attempt = _attempt_of(member)
        pipe.zrem(self.key, member)
        pipe.hdel(keys.step_starts(self._prefix, run_id), f"{call_id}|{attempt}")
        pipe.delete(self._starts_prefix + member)  # as counted before issue 29
        pipe.execute()

    def drop_in_pipe(self, member: str) -> Callable[[Any], None]:
        """The lease's end as a command to queue on someone else's pipeline (then
        ``drop(member, sent=True)``)."""
        key = self.key
        return lambda pipe: pipe.zrem(key, member)

    def _renew_loop(self) -> None:
        while True:
            time.sleep(RENEW_EVERY_S)
            with self._lock:
                now = time.monotonic()
                stale = [m for m, t in self._reserved.items() if now - t > RESERVED_MAX_S]
                for member in stale:  # received long ago and never started: let it expire
                    self._reserved.pop(member, None)
                    self._held.discard(member)
                held = list(self._held)
            if not held:
                continue
            try:
                expiry = time.time() * 1000 + LEASE_MS
                pipe = self._redis.pipeline(transaction=False)
                for member in held:
                    # XX: never resurrect a lease that is gone (the attempt ended, or
                    # recovery declared it dead); CH tells which ones are gone.
                    pipe.zadd(self.key, {member: expiry}, xx=True, ch=True)
                gone = [m for m, changed in zip(held, pipe.execute(), strict=True)
                        if not changed]
                if gone:
                    with self._lock:
                        self._held.difference_update(gone)
            except Exception as exc:
                logger.warning("step lease renewal failed; retrying", error=str(exc))

    def _started(self, member: str) -> bool:
        """Whether the attempt ever started (its start count; or, for an attempt counted
        before issue 29, its own counter key)."""
        run_id, call_id, attempt = _attempt_of(member)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hexists(keys.step_starts(self._prefix, run_id), f"{call_id}|{attempt}")
        pipe.exists(self._starts_prefix + member)
        return any(pipe.execute())

    def report_lost(self, system: Any, member: str) -> None:
        """Declare an attempt dead and tell its run (once: the message id is the one the
        attempt's own result would have had). Unless the step had finished: its result,
        held in hand by a turn that died after it (in the step's own task or in the task
        that ran it in place), is still in the run's in-hand slot, and is what the run
        must get."""
        run_id, call_id, attempt = _attempt_of(member)
        held = message_in_hand(system, run_id)
        if held is not None and held.msg_id == step_result_message_id(run_id, call_id, attempt):
            logger.info("the step had finished before its worker died; delivering its result",
                        run_id=run_id, call_id=call_id, attempt=attempt)
            system.deliver(held)
            return
        self._redis.set(self._dead_prefix + member, 1, ex=DEAD_MARK_TTL_S)
        logger.warning("step attempt lost its worker", run_id=run_id, call_id=call_id,
                       attempt=attempt)
        lost = StepOutcome.failed(call_id, attempt, StepFailure(
            "WorkerLostError", "the worker running this step attempt was lost"),
            worker_lost=True)
        system.deliver(Message(
            kind=lost.kind, actor_id=run_id, payload=encode(lost),
            msg_id=step_result_message_id(run_id, call_id, attempt)))

    def report_undelivered(self, system: Any, member: str) -> None:
        """The attempt was dispatched but never started: ask its run to send it again,
        unless ``unserved`` says its queue has no live reader (the task is still there:
        sending it again would only add one more copy, and a journal event, a minute),
        or ``backlogged`` that the step queues hold tasks (it may be among them)."""
        run_id, call_id, attempt = _attempt_of(member)
        if self.unserved is not None and self.unserved(run_id, call_id, attempt):
            return
        if self.backlogged is not None and self.backlogged():
            # maybe still queued behind others: look again later (a copy sent now could
            # run beside the first, and be reported lost)
            self._redis.zadd(self.key, {member: time.time() * 1000 + DISPATCH_CHECK_MS})
            return
        logger.warning("step attempt never started; its run sends it again", run_id=run_id,
                       call_id=call_id, attempt=attempt)
        self._redis.zadd(self.key, {member: time.time() * 1000 + QUEUED_WATCH_MS})
        system.deliver(Message(
            kind="step-undelivered", actor_id=run_id,
            payload=encode(StepUndelivered(call_id, attempt)),
            msg_id=step_undelivered_message_id(run_id, call_id, attempt)))

    def recover_lost(self, system: Any, limit: int = 100) -> int:
        """Report step attempts whose lease expired as failed with ``worker_lost``."""
        now = time.time() * 1000
        expired = self._redis.zrangebyscore(self.key, "-inf", now, start=0, num=limit)
        lost = 0
        for raw in expired:
            member = raw.decode()
            if not self._redis.zrem(self.key, member):
                continue  # another worker claimed it
            try:
                if not self._started(member):
                    self.report_undelivered(system, member)
                else:
                    self.report_lost(system, member)
            except Exception:
                # Claimed (removed) and not handled: watched again, or nobody would look
                # at the attempt again (Redis restarting between the two, say).
                with contextlib.suppress(Exception):
                    self._redis.zadd(self.key, {member: time.time() * 1000 + RETRY_LOOK_MS})
                raise
            lost += 1
        return lost
