"""What the benchmark runs on the workers (``pyworkflow --module ops.bench.bench_workflows``).

* ``bench_noop_step`` / ``bench_sequential`` / ``bench_three_steps``: the workflows.
* ``bench_task_sequential``: ``bench_sequential`` with a Celery task as its step.
* ``bench_sleep_then_step``: the timers workload: a durable sleep, then one step
  that returns the wall time; the run's result is its lateness (seconds after the
  sleep was due).
* The plain-Celery baselines run on a worker of their own (``plain_celery.py``).
* ``bench.ping``: one plain task round trip (RPUSH ``<prefix>:bench:ping-done``).
* ``benchactor-*``: a toy actor whose turn emits one event; ``on_batch_end`` RPUSHes
  ``<prefix>:bench:turn-done`` so the bench sees each committed turn.
* Counters: every worker process writes its ``system.cache.hits``/``misses`` to the
  hash ``<prefix>:bench:cache:<pid>`` (every 50 tasks, every 0.2 s while they
  change, and at process exit), since the counters only exist in-process; and,
  with ``PYWORKFLOW_BENCH_IOTRACE=1``, per task name the Redis round trips, the
  time waiting on Redis and the task's run time (``<prefix>:bench:tasks:<pid>``).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from typing import Any

from celery import Celery, signals

from actors import Behaviour, Event, Message, TurnContext
from pyworkflow import hook, now, sleep, step, workflow
from pyworkflow.worker import _runtime

from . import _iotrace
from . import flow_workflows as _flow_workflows  # noqa: F401  (flow_control.py's)

PING_TASK = "bench.ping"
ACTOR_PREFIX = "benchactor-"
CACHE_FLUSH_EVERY_TASKS = 50
CACHE_FLUSH_INTERVAL_S = 0.2
#: Count Redis round trips per task (set by ``run.py`` for its workers).
TRACE_IO = os.environ.get("PYWORKFLOW_BENCH_IOTRACE") == "1"


def bench_key(rt: _runtime.Runtime, name: str) -> str:
    """``<prefix>:bench:<name>``: every key the benchmark itself writes."""
    return f"{rt.settings.key_prefix}:bench:{name}"


# -- workflows ---------------------------------------------------------------------
@step()
def bench_noop_step(i: int) -> int:
    return i


@workflow()
async def bench_sequential(n: int) -> int:
    total = 0
    for i in range(n):
        total += await bench_noop_step(i)
    return total


# A plain Celery task awaited as a step (``ops/bench/task_as_step.py`` compares it with
# ``bench_sequential``): never sent to Celery here.
bench_celery = Celery("bench_adopt", set_as_current=False)


@bench_celery.task(name="bench.noop_task", autoretry_for=(ConnectionError,),
                   retry_backoff=True)
def bench_noop_task(i: int) -> int:
    return i


bench_noop_task_step = step.from_task(bench_noop_task)


@workflow()
async def bench_task_sequential(n: int) -> int:
    total = 0
    for i in range(n):
        total += await bench_noop_task_step(i)
    return total


@workflow()
async def bench_three_steps() -> int:
    a = await bench_noop_step(1)
    b = await bench_noop_step(2)
    c = await bench_noop_step(3)
    return a + b + c


@step()
def bench_wall_step() -> float:
    return time.time()


@workflow()
async def bench_wait_hook() -> Any:
    """Waits on a hook nobody answers (the memory benchmark's waiting run)."""
    return await hook("bench")


@workflow()
async def bench_sleep_then_step(seconds: float) -> float:
    """Sleeps, then runs one step: returns how late that step ran after the sleep was
    due (the sleep's wake time is the run's time at the sleep plus ``seconds``)."""
    due = now().timestamp() + seconds
    await sleep(seconds)
    return float(await bench_wall_step()) - due


# -- the toy actor for the turn-cost figure ----------------------------------------
class BenchActor(Behaviour[dict[str, int]]):
    """Counts pings: one event per message, nothing else."""

    def initial_state(self, actor_id: str) -> dict[str, int]:
        return {"pings": 0}

    def apply(self, state: dict[str, int], event: Event) -> None:
        if event.type == "pinged":
            state["pings"] += 1

    def handle(self, state: dict[str, int], message: Message, ctx: TurnContext) -> None:
        state["pings"] += 1
        ctx.emit("pinged", {"n": message.payload.get("n")})

    def on_batch_end(self, actor_id: str, turn: int, token: str) -> None:
        rt = _runtime.runtime()
        rt.redis.rpush(bench_key(rt, "turn-done"), actor_id)


# -- per-process counters: state cache, and per task Redis round trips -----------------
class _StatsReporter:
    """Writes this process's counters to Redis (fork-aware).

    ``<prefix>:bench:cache:<pid>``: ``hits``, ``misses`` of ``system.cache``.
    ``<prefix>:bench:tasks:<pid>``: per task name, ``<name>|tasks``, ``<name>|rt`` (Redis
    round trips), ``<name>|io_us`` (time waiting on Redis), ``<name>|run_us`` (task
    body, prerun to postrun), all cumulative; only with ``PYWORKFLOW_BENCH_IOTRACE=1``.
    """

    def __init__(self) -> None:
        self._pid = 0
        self._tasks = 0
        self._last: tuple[Any, ...] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._per_task: dict[str, list[float]] = {}
        self._task_name: str | None = None

    def ensure_started(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        # A fresh process (first call, or a forked pool child): own counters and thread.
        self._pid, self._tasks, self._last = pid, 0, None
        self._per_task = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._loop, name="bench-stats-reporter", daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.wait(CACHE_FLUSH_INTERVAL_S):
            try:
                self.flush()
            except Exception:  # Redis gone during shutdown: nothing to report to
                return

    def task_start(self, name: str) -> None:
        self.ensure_started()
        if TRACE_IO:
            self._task_name = name
            _iotrace.current.open()

    def task_done(self) -> None:
        self.ensure_started()
        if TRACE_IO and self._task_name is not None:
            rt, io_s, run_s = _iotrace.current.close()
            with self._lock:
                acc = self._per_task.setdefault(self._task_name, [0, 0, 0.0, 0.0])
                acc[0] += 1
                acc[1] += rt
                acc[2] += io_s
                acc[3] += run_s
            self._task_name = None
        self._tasks += 1
        if self._tasks % CACHE_FLUSH_EVERY_TASKS == 0:
            self.flush()

    def flush(self, force: bool = False) -> None:
        rt = _runtime.runtime()
        cache = rt.system.cache
        with self._lock:
            per_task = {f"{name}|{field}": int(value) for name, acc in self._per_task.items()
                        for field, value in zip(("tasks", "rt"), acc[:2], strict=True)}
            per_task.update({f"{name}|{field}": int(value * 1e6)
                             for name, acc in self._per_task.items()
                             for field, value in zip(("io_us", "run_us"), acc[2:], strict=True)})
            now = (cache.hits, cache.misses, tuple(sorted(per_task.items())))
            if now == self._last and not force:
                return
            pipe = rt.redis.pipeline(transaction=False)
            pipe.hset(bench_key(rt, f"cache:{os.getpid()}"),
                      mapping={"hits": now[0], "misses": now[1]})
            if per_task:
                pipe.hset(bench_key(rt, f"tasks:{os.getpid()}"), mapping=per_task)
            pipe.execute()
            self._last = now

    def final_flush(self) -> None:
        if self._pid != os.getpid():
            return
        self._stop.set()
        try:
            self.flush(force=True)
        except Exception:
            pass


_reporter = _StatsReporter()


def _on_task_prerun(task: Any = None, **_: Any) -> None:
    _reporter.task_start(getattr(task, "name", "?"))


def _on_task_postrun(**_: Any) -> None:
    _reporter.task_done()


def _on_process_start(**_: Any) -> None:
    _reporter.ensure_started()


def _on_process_end(**_: Any) -> None:
    _reporter.final_flush()


# -- wiring, once the runtime exists --------------------------------------------------
def _install(rt: _runtime.Runtime) -> None:
    app = rt.celery
    ping_key = bench_key(rt, "ping-done")

    @app.task(name=PING_TASK, ignore_result=True)
    def ping(token: str) -> None:
        rt.redis.rpush(ping_key, token)

    rt.system.route(ACTOR_PREFIX, BenchActor())

    if TRACE_IO:
        _iotrace.install()
    signals.task_prerun.connect(_on_task_prerun, weak=False)
    signals.task_postrun.connect(_on_task_postrun, weak=False)
    signals.worker_process_init.connect(_on_process_start, weak=False)
    signals.worker_ready.connect(_on_process_start, weak=False)
    signals.worker_process_shutdown.connect(_on_process_end, weak=False)
    signals.worker_shutdown.connect(_on_process_end, weak=False)


def _at_exit() -> None:
    _reporter.final_flush()


atexit.register(_at_exit)
_runtime.on_runtime(_install)


@step()
async def bench_short_step(i: int) -> int:
    return i


@workflow(retention="1s")
async def bench_short_lived(i: int) -> int:
    """For the retention soak: purged a second after it ends."""
    return await bench_short_step(i)
