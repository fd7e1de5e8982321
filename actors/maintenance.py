"""The maintenance loop every worker runs: fire due timers, recover orphaned actors.

There is no coordinator: each worker's loop claims work atomically in Redis, so
any number of workers can run it and whichever is first does the job. Timers are
polled often (a timer must fire within a second of its due time) but the loop
sleeps until the next due timer when that is sooner; recovery runs every second. In
a prefork worker the pool processes run due timers themselves while idle
(``timer_runner``): this loop takes timers only while none of them shows signs of
life (``runners_alive``), and only once they are ``timer_grace_ms`` overdue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import log as _log
from .recovery import TIMER_PASS_LIMIT, deliver_due_timers, recover_expired
from .timers import CLAIM_LEASE_MS

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.maintenance")

TIMER_POLL_S = 0.2
#: After a pass that delivered timers, the next waits at least this long, so that
#: wake-ups coming due one after the other (a burst of sleepers) go out together, in
#: wake tasks of several turns, instead of one Celery task each (see
#: ``ActorSystem.deliver_timers``). A timer due after a quiet spell goes out at once.
TIMER_GATHER_S = 0.02
#: The loop's claim on the timers it sends as wake tasks, when it can read the turn
#: queue's backlog (``ActorSystem.backlog``): a wake task lost on its way (this worker
#: SIGKILLed between the claim and the publish, or the task between the broker's pop
#: and its ``unacked`` write) fires again this soon, not after ``CLAIM_LEASE_MS``
#: (30 s: the chaos run saw sleeps end 30 s late that way). Short is safe because the
#: loop claims nothing while more than ``WAKE_BACKLOG_MAX`` tasks wait in the turn
#: queue: what it sends starts within seconds, well inside the claim.
SHORT_CLAIM_LEASE_MS = 10_000
WAKE_BACKLOG_MAX = 500
RECOVERY_EVERY_S = 1.0
UNACKED_SWEEP_EVERY_S = 30.0


class Maintenance:
    def __init__(self, system: ActorSystem, timer_grace_ms: int = 0,
                 runners_alive: Callable[[], bool] | None = None) -> None:
        self.system = system
        #: a due timer is left this long to the pool processes' ``TimerRunner``s...
        self.timer_grace_ms = timer_grace_ms
        #: ... and all of them while this says they are alive (``RunnerPulse``)
        self.runners_alive = runners_alive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="actors-maintenance", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _sweep(self) -> None:
        system = self.system
        if system.mailbox_in_redis:
            return  # the Redis fast path keeps taken messages in the actor's own keys
        for queue in system.mailbox.sweep_unacked(system.redis):
            actor_id = system.keys.actor_of_mailbox(queue)
            if actor_id is not None:
                system.activate(actor_id)

    def _claim_lease_ms(self) -> int:
        """The claim this pass's timers get: ``SHORT_CLAIM_LEASE_MS`` when the turn
        queue's backlog is known, 0 (claim none this pass) while it is over
        ``WAKE_BACKLOG_MAX``; ``CLAIM_LEASE_MS`` when it cannot be read."""
        backlog = self.system.backlog
        if backlog is None:
            return CLAIM_LEASE_MS
        waiting = backlog(None)
        if waiting is None:
            return CLAIM_LEASE_MS
        return SHORT_CLAIM_LEASE_MS if waiting <= WAKE_BACKLOG_MAX else 0

    def _loop(self) -> None:
        next_recovery = 0.0
        next_sweep = time.monotonic() + UNACKED_SWEEP_EVERY_S
        failures = 0
        while not self._stop.is_set():
            wait = TIMER_POLL_S
            try:
                # the backlog is read only when this loop claims (no live runner)
                runners_claim = self.runners_alive is not None and self.runners_alive()
                lease_ms = 0 if runners_claim else self._claim_lease_ms()
                if lease_ms:
                    delivered, next_due, now_ms = deliver_due_timers(
                        self.system, grace_ms=self.timer_grace_ms, lease_ms=lease_ms)
                    if next_due is not None:
                        wait = max(0.0, min(wait, (next_due + self.timer_grace_ms - now_ms)
                                            / 1000))
                    if 0 < delivered < TIMER_PASS_LIMIT:
                        wait = max(wait, TIMER_GATHER_S)
                now = time.monotonic()
                if now >= next_recovery:
                    recover_expired(self.system)
                    for job in self.system.periodic:
                        job()
                    next_recovery = now + RECOVERY_EVERY_S
                if now >= next_sweep:
                    self._sweep()
                    next_sweep = now + UNACKED_SWEEP_EVERY_S
                failures = 0
            except Exception as exc:  # Redis down, broker down: keep trying, say so
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    logger.warning("maintenance pass failed; retrying", error=str(exc),
                                   failures=failures)
                wait = min(5.0, 0.2 * failures)
            self._stop.wait(wait)
