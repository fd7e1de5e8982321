"""Due timers run by the pool process that finds them, whenever it has no task to run.

The worker's maintenance loop delivers a due timer through Celery: it claims the
timer, publishes a wake task, the worker's main process receives it and hands it to
a pool process, which runs the woken turn. Each hop waits on a scheduler (the loop's
poll and gather, the broker, the pool), and on a busy machine each wait is long
(``ops/bench/last-results.txt``: 200 sleepers 35 ms late at the median, p99 65 ms,
where DBOS, which wakes a thread in the process that runs the workflow, took 9 ms
and 36 ms).

So every prefork pool process also runs a :class:`TimerRunner`: a thread that sleeps
until the next due time (read from the claim, on the Redis clock), claims a few due
timers and runs their turns right there (``run_wake_turns``, what a wake task does),
but starts a pass only while the process runs no Celery task (``task_started``): a
task that arrives during a pass runs beside it, as two tasks of a threads pool do,
and is never held up (a task's time limit counts from its start). A timer scheduled
in the process (``TimerStore.on_schedule``) wakes its runner at its due time, even
before the next poll. The main loop claims a timer only when no runner of its worker
has shown a sign of life for ``RUNNERS_ALIVE_S`` (every runner busy with a long
step, or none running), once it is ``MAIN_LOOP_GRACE_MS`` overdue, and sends it as a
wake task, as before.

Nothing about durability changes: a timer is claimed, and stays due again after its
claim lease, until the turn's begin holds its message (``timer_handed.lua``); a pool
process that dies in between leaves it to fire again after ``RUNNER_CLAIM_LEASE_MS``
(its message id makes the repeat harmless), and the actor it activated to recovery.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import log as _log
from .task_names import WAKE_TASK_NAME
from .turn_begin import TimerTurn

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.timer_runner")

#: The longest a runner sleeps between claims when no timer is due sooner.
RUNNER_POLL_S = 0.2
#: Timers a runner claims in one pass (the earliest due), and runs one after the other:
#: few, so that a burst is shared among the pool processes as it comes due.
RUNNER_BATCH = 2
#: Runner threads per pool process: a wake-up waits on Redis about half its time, which
#: a second thread fills with another wake-up's work when a burst comes due (turns of
#: different actors run side by side, as in a threads pool).
RUNNER_THREADS = 2
#: Of a process's idle runner threads, one (the *watcher*) sleeps until the next due
#: time; the others wait for it to find timers due (it wakes one of them, so a burst
#: is shared) or this long at most. Every thread sleeping until the same due time
#: made every wake-up cost a claim per thread, three of four finding nothing: a CPU
#: cost that lands exactly when timers come due.
FOLLOWER_WAIT_S = 1.0
#: A runner's claim: its turn's begin confirms the timer a few ms after the claim, so
#: a process that dies between the two leaves its timer due again this soon.
RUNNER_CLAIM_LEASE_MS = 5_000
#: How long the worker's main loop leaves a due timer to its pool processes' runners
#: before it claims the timer and sends a wake task (``timer_claim.lua``'s grace)...
MAIN_LOOP_GRACE_MS = 100
#: ... and it claims none while a runner of its worker began a pass or a sleep this
#: recently (``RunnerPulse``): a backlog of due timers is the runners' to work off, a
#: few at a time. Claimed by the thousand and queued as wake tasks behind one another,
#: some waited past their claim lease (30 s) and were delivered twice, each time with
#: more work (10,000 sleepers: p99 164 s).
RUNNERS_ALIVE_S = 1.0


class RunnerPulse:
    """When a runner of this worker last began a pass or a sleep (monotonic seconds), in
    memory the worker's main process shares with its pool processes (made before they
    are forked). A pool process forked from a main process that made none has its own,
    which the main loop never sees: it then claims after the grace, as without runners."""

    def __init__(self) -> None:
        self._last = multiprocessing.RawValue("d", 0.0)

    def beat(self) -> None:
        self._last.value = time.monotonic()

    def alive(self) -> bool:
        return bool(time.monotonic() - self._last.value < RUNNERS_ALIVE_S)


def run_wake_turns(system: ActorSystem, turns: Any, early: bool) -> None:
    """Turns of actors woken by due timers (``ActorSystem.deliver_timers``), one after
    the other: a wake task's body, and a runner's. One that fails is left to recovery
    (its lease runs out, or its timer fires again) and the others still run. ``early``:
    the turn may be decided before it begins (``fast.early_turn``); False for a task the
    broker delivers again, whose first delivery may have died deciding."""
    for item in turns if isinstance(turns, list) else [turns]:
        if not (isinstance(item, list) and len(item) == 4):
            system.dead_letters.add("a wake task's turn is not [actor, token, message, "
                                    "timer]", repr(item), queue=WAKE_TASK_NAME)
            continue
        actor_id, token, held, timer_id = item
        try:
            with system.in_place.running():
                TimerTurn(str(actor_id), str(token), held, timer_id, early).run(system)
        except Exception as exc:
            logger.warning("a timer turn failed; its actor is left to recovery",
                           actor_id=str(actor_id), error=f"{type(exc).__name__}: {exc}")


class TimerRunner:
    """One pool process's runner thread, and the gate it shares with the Celery tasks
    the process runs (``task_started``/``task_ended``, from Celery's task signals)."""

    def __init__(self, system: ActorSystem, keep: Callable[[str | None], bool],
                 pulse: RunnerPulse | None = None) -> None:
        self._system = system
        self._pulse = pulse or RunnerPulse()
        #: whether a turn routed to this queue may run here (this worker reads it)
        self._keep = keep
        self._gate = threading.Condition()
        self._tasks = 0  # Celery tasks running (or about to) in this process
        #: the earliest due time (ms) poked since the last pass began
        self._poked_ms = math.inf
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: the idle thread that sleeps until the next due time (None: none does)
        self._watcher: threading.Thread | None = None

    def start(self, threads: int = RUNNER_THREADS) -> None:
        if not self._threads:
            self._threads = [threading.Thread(target=self._loop, daemon=True,
                                              name=f"actors-timer-runner-{i}")
                             for i in range(threads)]
            for thread in self._threads:
                thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._gate:
            self._gate.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def task_started(self) -> None:
        """A Celery task is about to run here: the runner starts no pass until it ended
        (one under way goes on beside it, as two tasks of a threads pool would)."""
        with self._gate:
            self._tasks += 1

    def task_ended(self) -> None:
        with self._gate:
            self._tasks = max(0, self._tasks - 1)
            self._gate.notify_all()

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self._gate:
                while self._tasks and not self._stop.is_set():
                    self._gate.wait()
                self._poked_ms = math.inf  # this pass's claim sees what was scheduled
            self._pulse.beat()
            try:
                wait = self.run_due()
                failures = 0
            except Exception as exc:  # Redis away: the main loop's grace covers it
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    logger.warning("timer runner pass failed; retrying", error=str(exc),
                                   failures=failures)
                wait = min(5.0, 0.2 * failures)
            if wait > 0:
                self._sleep(wait)

    def poke(self, due_ms: int) -> None:
        """A timer due at ``due_ms`` (ms since the epoch) was scheduled in this process:
        the runner wakes for it if it would sleep past it (``TimerStore.on_schedule``)."""
        with self._gate:
            if due_ms < self._poked_ms:
                self._poked_ms = due_ms
                self._gate.notify_all()

    def _sleep(self, seconds: float) -> None:
        """As the watcher: until ``seconds`` from now, or the due time of a timer
        scheduled in this process since the last pass began (its claim may have missed
        it). As a follower (another thread watches): until the watcher finds timers, a
        timer is scheduled here, a task ends, or ``FOLLOWER_WAIT_S``."""
        self._pulse.beat()
        me = threading.current_thread()
        with self._gate:
            if self._watcher is not None and self._watcher is not me:
                self._gate.wait(FOLLOWER_WAIT_S)
                return
            self._watcher = me
            try:
                until_ms = time.time() * 1000 + seconds * 1000
                while not self._stop.is_set():
                    left = min(until_ms, self._poked_ms) / 1000 - time.time()
                    if left <= 0:
                        break
                    self._gate.wait(left)
            finally:
                self._watcher = None

    def _share(self) -> None:
        """Timers were due: wake a follower to claim beside this thread (the rest of a
        burst, if any; it finds nothing otherwise and waits again)."""
        with self._gate:
            self._gate.notify()

    def run_due(self) -> float:
        """One pass: claim due timers and run their turns here (those routed to a queue
        this worker reads; the others are sent as wake tasks). Returns how long to
        sleep before the next pass: none after a pass that found timers."""
        system = self._system
        result = system.timers.claim_earliest(RUNNER_BATCH, RUNNER_CLAIM_LEASE_MS)
        if result.timers:
            self._share()
            system.compactor.defer()  # sealing waits until the wake-ups are done
            kept = system.deliver_timers(result.timers, keep=self._keep)
            if system.instruments:
                system.instruments.timers_fired(result.timers, result.now_ms)
            run_wake_turns(system, kept, early=True)
            return 0.0
        if result.next_due_ms is None:
            return RUNNER_POLL_S
        return max(0.0, min(RUNNER_POLL_S, (result.next_due_ms - result.now_ms) / 1000))
