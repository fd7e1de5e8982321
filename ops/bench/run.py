"""The pyworkflow benchmark: workflows against plain Celery and DBOS Transact.

    python ops/bench/run.py [--quick] [--big-timers 10000] [--timers 200] [--no-dbos]

Starts real ``pyworkflow worker run`` processes and a plain Celery worker under a
private key prefix, and DBOS Transact in a child process on a fresh Postgres
database when it can; measures the same workloads on each, prints a summary
ending with issue 15's targets (written to ``ops/bench/last-results.txt`` after a
full run), stops everything, drops the DBOS database and deletes every key it
wrote, even on error or Ctrl-C. See ``ops/bench/README.md`` for each figure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyworkflow.ids import STEP_TASK, TURN_TASK

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # ``python ops/bench/run.py``: make ``ops.bench`` importable
    sys.path.insert(0, str(REPO))

from ops.bench import (  # noqa: E402
    _proctree,
    dbos_peer,
    flow_control,
    memory,
    plain_celery,
    side_by_side,
    task_as_step,
    timers,
)

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "last-results.txt"
MODULE = "ops.bench.bench_workflows"
PYWORKFLOW = str(Path(sys.executable).with_name("pyworkflow"))

SYSTEMS = ("pyworkflow", "celery", "dbos")  # the columns; "celery" is the plain worker
DBOS_TIMERS_MAX = 2000  # DBOS holds a thread per sleeping workflow: not for 10,000


def big_timer_sleep(count: int) -> float:
    """The sleep of ``count`` runs started back to back (about 200 a second): long
    enough that every one is asleep before the first wakes (120 s up to 10,000)."""
    return max(120.0, count / 200 * 2)
#: What a worker logs when recovery restarts an actor whose activation lease expired.
TAKEOVER_LINE = "actor taken over after its lease expired"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class BenchError(RuntimeError):
    """Something the benchmark could not measure (a run failed, a timeout)."""


# -- workers ---------------------------------------------------------------------------
class Workers:
    """``pyworkflow worker run`` processes, each in its own process group."""

    def __init__(self, count: int, concurrency: int, pool: str, loglevel: str,
                 log_dir: Path, env: dict[str, str], argv: list[str] | None = None,
                 name: str = "worker") -> None:
        self.count = count
        self.argv = argv  # another worker command (the plain Celery worker)
        self.name = name
        self.concurrency = concurrency
        self.pool = pool
        self.loglevel = loglevel
        self.log_dir = log_dir
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self) -> None:
        for i in range(self.count):
            path = self.log_dir / f"{self.name}-{i}.log"
            self.logs.append(path)
            argv = self.argv or [
                PYWORKFLOW, "--module", MODULE, "worker", "run",
                "--concurrency", str(self.concurrency), "--pool", self.pool,
                "--loglevel", self.loglevel, "--hostname", f"bench{i}-{os.getpid()}@%h"]
            with open(path, "ab") as out:
                self.procs.append(subprocess.Popen(
                    argv, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True))

    def log_text(self, i: int) -> str:
        path = self.logs[i]
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self, timeout: float) -> float:
        started = time.monotonic()
        deadline = started + timeout
        pending = set(range(self.count))
        while pending:
            for i in sorted(pending):
                if self.procs[i].poll() is not None:
                    raise BenchError(f"worker {i} exited with {self.procs[i].returncode}:\n"
                                     f"{self.log_text(i)[-3000:]}")
                if "ready." in self.log_text(i):
                    pending.discard(i)
            if pending and time.monotonic() > deadline:
                tails = "\n".join(self.log_text(i)[-2000:] for i in pending)
                raise BenchError(f"workers not ready after {timeout}s:\n{tails}")
            time.sleep(0.1)
        return time.monotonic() - started

    def check_alive(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                raise BenchError(f"worker {i} died (exit {proc.returncode}):\n"
                                 f"{self.log_text(i)[-3000:]}")

    def log_offsets(self) -> list[int]:
        return [p.stat().st_size if p.exists() else 0 for p in self.logs]

    def log_since(self, offsets: list[int]) -> str:
        parts = []
        for path, offset in zip(self.logs, offsets, strict=True):
            with open(path, "rb") as f:
                f.seek(offset)
                parts.append(f.read().decode(errors="replace"))
        return "".join(parts)

    def stop(self, timeout: float = 20.0) -> list[str]:
        """SIGTERM every worker group, then SIGKILL what is left after ``timeout``."""
        notes: list[str] = []
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for i, proc in enumerate(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                notes.append(f"worker {i} ignored SIGTERM for {timeout}s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            # Pool children left behind by a parent that died: take the group down.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        return notes


# -- results -------------------------------------------------------------------------
@dataclass
class TaskStats:
    """Sums over one phase for one task name, from the workers' counters."""

    name: str
    tasks: int = 0
    rt: int = 0  # Redis round trips made by the task's own thread
    io_us: int = 0  # time spent sending to / waiting on Redis
    run_us: int = 0  # task body, prerun to postrun

    @property
    def run_ms(self) -> float:
        return self.run_us / self.tasks / 1000

    @property
    def io_ms(self) -> float:
        return self.io_us / self.tasks / 1000

    @property
    def rt_per_task(self) -> float:
        return self.rt / self.tasks


@dataclass
class SeqRow:
    n: int
    reps: int
    wf_per_step_ms: float
    chain_per_task_ms: float | None
    chain_note: str
    self_chain_per_task_ms: float
    dbos_per_step_ms: float | None
    hit_rate: float | None
    step_task_ms: float | None  # mean runtime of a step task (step + the turn in place)
    turn_task_ms: float | None  # mean runtime of separate turn tasks, if any

    @property
    def best_baseline_ms(self) -> float:
        values = [self.self_chain_per_task_ms]
        if self.chain_per_task_ms is not None:
            values.append(self.chain_per_task_ms)
        return min(values)


@dataclass
class Results:
    started: str
    options: dict[str, Any]
    seq: list[SeqRow] = field(default_factory=list)
    conc_runs: int = 0
    wf_runs_per_s: float = 0.0
    chains_per_s: float = 0.0
    conc_hit_rate: float | None = None
    conc_step_task_ms: float | None = None
    conc_turn_tasks: int = 0
    actor_same: list[float] = field(default_factory=list)
    actor_fresh: list[float] = field(default_factory=list)
    celery_rt: list[float] = field(default_factory=list)
    turn_hit_rate: float | None = None
    #: (label, per-task stats, recoveries logged by the workers during the phase)
    phases: list[tuple[str, dict[str, TaskStats], int]] = field(default_factory=list)
    total_hits: int = 0
    total_misses: int = 0
    notes: list[str] = field(default_factory=list)
    #: the DBOS column: None when it ran, else why it did not (one line)
    dbos_skipped: str | None = None
    dbos_version: str = ""
    dbos_runs_per_s: float | None = None
    #: ``timers.TimerResult`` per system ("pyworkflow", "dbos")
    timers: dict[str, Any] = field(default_factory=dict)
    #: the many-sleepers phase (``--big-timers``, pyworkflow only), or None
    big_timers: Any = None
    #: worker CPU seconds and steps run, per (system, workload): "seq", "conc", "timers";
    #: "seq-chain": the plain worker's celery.chain runs ("seq" there: the self-chain)
    cpu_s: dict[tuple[str, str], float] = field(default_factory=dict)
    steps: dict[tuple[str, str], int] = field(default_factory=dict)
    #: peak (RSS, PSS) in bytes of each system's process tree, over the whole bench
    peak_mem: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    #: Redis bytes per run, per kind of run (``memory.MemoryRow``)
    memory: list[Any] = field(default_factory=list)
    #: DBOS's Postgres bytes per run: (kind, runs, table bytes, index bytes) per run
    dbos_memory: list[tuple[str, int, float, float]] = field(default_factory=list)

    def cpu_ms_per_step(self, system: str, workload: str) -> float | None:
        """Worker CPU per step; plain Celery's sequential figure is the cheaper of its
        two baselines, as for time (a long celery.chain re-serialises the rest of the
        chain at every hop)."""
        values = []
        for w in (workload, "seq-chain") if workload == "seq" else (workload,):
            cpu, steps = self.cpu_s.get((system, w)), self.steps.get((system, w))
            if cpu is not None and steps:
                values.append(cpu / steps * 1000)
        return min(values) if values else None


# -- the benchmark ---------------------------------------------------------------------
class Bench:
    def __init__(self, rt: Any, workers: Workers, results: Results, timeout_scale: float,
                 plain_app: Any, plain_workers: Workers, dbos: Any | None,
                 sampler: _proctree.TreeSampler) -> None:
        from celery import chain

        from ops.bench import bench_workflows as bw

        self.rt = rt
        self.bw = bw
        self.chain = chain
        self.workers = workers
        self.results = results
        self.scale = timeout_scale
        self.app = rt.celery
        self.plain_app = plain_app
        self.plain_workers = plain_workers
        self.plain = plain_app.tasks[plain_celery.PLAIN_TASK]
        self.dbos = dbos
        self.sampler = sampler
        self.roots = {"pyworkflow": [p.pid for p in workers.procs],
                      "celery": [p.pid for p in plain_workers.procs],
                      "dbos": [dbos.pid] if dbos is not None else []}
        self.done_key = plain_celery.done_key(rt.settings.key_prefix)
        self.ping_key = bw.bench_key(rt, "ping-done")
        self.turn_key = bw.bench_key(rt, "turn-done")

    # helpers ----------------------------------------------------------------------
    def blpop(self, key: str, deadline: float, what: str) -> str:
        """BLPOP in short slices (the client's socket timeout is 30 s)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.workers.check_alive()
                self.plain_workers.check_alive()
                raise BenchError(f"timed out waiting for {what}")
            item = self.rt.redis.blpop([key], timeout=max(0.01, min(5.0, left)))
            if item is not None:
                return str(item[1].decode())
            self.workers.check_alive()
            self.plain_workers.check_alive()

    def record_key(self, run_id: str) -> str:
        return str(self.rt.system.actor_keys(run_id).record)

    def counters(self, settle: bool = True) -> dict[str, int]:
        """Sums over every worker process of the cache and per-task counters (after
        the processes' next flush): ``hits``, ``misses``, ``<task>|tasks|rt|io_us|run_us``."""
        if settle:
            time.sleep(3 * self.bw.CACHE_FLUSH_INTERVAL_S)
        total: dict[str, int] = {}
        for kind in ("cache", "tasks"):
            pattern = self.bw.bench_key(self.rt, f"{kind}:*")
            for key in self.rt.redis.scan_iter(match=pattern, count=100):
                for name, value in self.rt.redis.hgetall(key).items():
                    field_ = name.decode()
                    total[field_] = total.get(field_, 0) + int(value)
        return total

    def cache_counts(self) -> tuple[int, int]:
        c = self.counters()
        return c.get("hits", 0), c.get("misses", 0)

    @contextlib.contextmanager
    def phase(self, label: str) -> Iterator[dict[str, Any]]:
        """Cache-counter and per-task deltas over a block of measurements."""
        out: dict[str, Any] = {}
        before = self.counters()
        offsets = self.workers.log_offsets()
        yield out
        after = self.counters()
        out["takeovers"] = self.workers.log_since(offsets).count(TAKEOVER_LINE)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        hits, misses = delta.get("hits", 0), delta.get("misses", 0)
        out["hits"], out["misses"] = hits, misses
        out["hit_rate"] = hits / (hits + misses) if hits + misses else None
        tasks: dict[str, TaskStats] = {}
        for key, value in delta.items():
            if "|" not in key:
                continue
            name, _, field_ = key.rpartition("|")
            setattr(tasks.setdefault(name, TaskStats(name)), field_, value)
        out["tasks"] = {n: t for n, t in tasks.items() if t.tasks}
        self.results.phases.append((label, out["tasks"], out["takeovers"]))

    @staticmethod
    def run_ms(tasks: dict[str, TaskStats], name: str) -> float | None:
        stats = tasks.get(name)
        return stats.run_ms if stats else None

    @staticmethod
    def count(tasks: dict[str, TaskStats], name: str) -> int:
        stats = tasks.get(name)
        return stats.tasks if stats else 0

    def measure(self, system: str, workload: str, steps: int, fn: Callable[..., Any],
                *args: Any, **kwargs: Any) -> Any:
        """Runs ``fn``, adding the CPU its system's workers spent meanwhile (their whole
        process tree, from /proc) and ``steps`` to that system's account."""
        before = _proctree.cpu_seconds(self.roots[system])
        out = fn(*args, **kwargs)
        after = _proctree.cpu_seconds(self.roots[system])
        if before is not None and after is not None:
            key = (system, workload)
            self.results.cpu_s[key] = self.results.cpu_s.get(key, 0.0) + after - before
            self.results.steps[key] = self.results.steps.get(key, 0) + steps
        return out

    def wait_completed(self, run_ids: Sequence[str], timeout: float,
                       on_poll: Callable[[], None] | None = None, every: float = 0.01) -> None:
        """Until every run is ``completed`` (one pipelined HGET per pending run a poll)."""
        pending = {rid: self.record_key(rid) for rid in run_ids}
        deadline = time.monotonic() + timeout
        while pending:
            items = list(pending.items())
            for i in range(0, len(items), 1000):
                pipe = self.rt.redis.pipeline(transaction=False)
                chunk = items[i:i + 1000]
                for _, key in chunk:
                    pipe.hget(key, "status")
                for (rid, _), raw in zip(chunk, pipe.execute(), strict=True):
                    status = raw.decode() if raw else "pending"
                    if status == "completed":
                        del pending[rid]
                    elif status in ("failed", "cancelled", "parked"):
                        raise BenchError(f"run {rid} ended {status}")
            if on_poll is not None:
                on_poll()
            if pending:
                if time.monotonic() > deadline:
                    self.workers.check_alive()
                    raise BenchError(f"{len(pending)} of {len(run_ids)} runs unfinished after "
                                     f"{timeout:.0f}s")
                time.sleep(every)

    # workflows ------------------------------------------------------------------------
    def run_workflow(self, wf: Callable[..., Any], *args: Any, timeout: float) -> float:
        """Wall time from ``start()`` to status completed, reading the run's status field
        every 0.5 ms: the chains' end is seen at once (a BLPOP), so a coarser poll would
        add its own interval to the workflow's time (2 ms polls of the whole record, as
        this did before, added about 1 ms a run: 0.1 ms a step at N=10)."""
        from pyworkflow import get_workflow_run, start

        t0 = time.perf_counter()
        run_id = start(wf, *args)
        record = self.record_key(run_id)
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            raw = self.rt.redis.hget(record, "status")
            status = raw.decode() if raw else ""
            if status == "completed":
                return time.perf_counter() - t0
            if status in ("failed", "cancelled", "parked"):
                info = get_workflow_run(run_id)
                raise BenchError(f"run {run_id} ended {status}: {info.error}")
            polls += 1
            if polls % 2000 == 0:
                self.workers.check_alive()
                if time.monotonic() > deadline:
                    raise BenchError(f"run {run_id} still {status} after {timeout:.0f}s")
            time.sleep(0.0005)

    def run_chain(self, n: int, timeout: float) -> float:
        """A ``celery.chain`` of ``n`` plain tasks; the last one reports the chain id."""
        chain_id = uuid.uuid4().hex
        t0 = time.perf_counter()
        sigs = [self.plain.si(i) for i in range(n - 1)] + [self.plain.si(n - 1, done=chain_id)]
        if n == 1:
            sigs[0].apply_async()
        else:
            self.chain(*sigs).apply_async()
        got = self.blpop(self.done_key, time.monotonic() + timeout, f"chain of {n}")
        if got != chain_id:
            raise BenchError(f"chain {chain_id} expected, {got} reported")
        return time.perf_counter() - t0

    def run_self_chain(self, n: int, timeout: float) -> float:
        """``n`` plain tasks, each sending the next itself: one Celery hop each."""
        chain_id = uuid.uuid4().hex
        t0 = time.perf_counter()
        self.plain_app.send_task(plain_celery.SELF_CHAIN_TASK, args=[0, n - 1, chain_id])
        got = self.blpop(self.done_key, time.monotonic() + timeout, f"self-chain of {n}")
        if got != chain_id:
            raise BenchError(f"self-chain {chain_id} expected, {got} reported")
        return time.perf_counter() - t0

    def warm_up(self) -> None:
        log("warming up (workflows, chains, actor turns, pings)")
        for _ in range(3):
            self.run_workflow(self.bw.bench_sequential, 5, timeout=60 * self.scale)
            self.run_chain(5, timeout=60 * self.scale)
            self.run_self_chain(5, timeout=60 * self.scale)
        actor = f"{self.bw.ACTOR_PREFIX}warmup"
        for i in range(20):
            self.actor_round_trip(actor, i)
            self.ping_round_trip()
        if self.dbos is not None:
            self.dbos.call("warm", timeout=120 * self.scale)

    def sequential(self, ns: list[int]) -> None:
        """Per N, ``reps`` rounds, systems interleaved in each: the workflow, a
        ``celery.chain``, a self-chain, and DBOS's workflow when it runs."""
        for n in ns:
            reps = {10: 5, 100: 3}.get(n, 1)
            timeout = (60 + n * 0.5) * self.scale
            wf_t: list[float] = []
            chain_t: list[float] = []
            self_t: list[float] = []
            dbos_t: list[float] = []
            chain_note = "celery.chain"
            log(f"sequential N={n}: {reps} round(s) of workflow / celery.chain / self-chain"
                + (" / DBOS" if self.dbos is not None else ""))
            with self.phase(f"sequential workflow N={n}") as wf_phase:
                for _ in range(reps):
                    wf_t.append(self.measure("pyworkflow", "seq", n, self.run_workflow,
                                             self.bw.bench_sequential, n, timeout=timeout))
                    if chain_note == "celery.chain":
                        try:
                            chain_t.append(self.measure("celery", "seq-chain", n, self.run_chain,
                                                        n, timeout=timeout))
                        except RecursionError as exc:
                            chain_note = f"celery.chain failed ({type(exc).__name__})"
                            self.results.notes.append(f"N={n}: {chain_note}: {exc}")
                    self_t.append(self.measure("celery", "seq", n, self.run_self_chain, n,
                                               timeout=timeout))
                    if self.dbos is not None:
                        out = self.measure("dbos", "seq", n, self.dbos.call, "seq",
                                           timeout=timeout, n=n)
                        dbos_t.append(float(out["elapsed"]))
            tasks = wf_phase["tasks"]
            row = SeqRow(
                n=n, reps=reps,
                wf_per_step_ms=statistics.median(wf_t) / n * 1000,
                chain_per_task_ms=statistics.median(chain_t) / n * 1000 if chain_t else None,
                chain_note=chain_note,
                self_chain_per_task_ms=statistics.median(self_t) / n * 1000,
                dbos_per_step_ms=statistics.median(dbos_t) / n * 1000 if dbos_t else None,
                hit_rate=wf_phase["hit_rate"],
                step_task_ms=self.run_ms(tasks, STEP_TASK),
                turn_task_ms=self.run_ms(tasks, TURN_TASK))
            self.results.seq.append(row)
            chain_txt = ("-" if row.chain_per_task_ms is None
                         else f"{row.chain_per_task_ms:.2f}")
            log(f"  workflow {row.wf_per_step_ms:.2f} ms/step, chain {chain_txt} ms/task, "
                f"self-chain {row.self_chain_per_task_ms:.2f} ms/task, "
                f"DBOS {fmt_ms(row.dbos_per_step_ms)} ms/step, "
                f"cache hit rate {fmt_rate(row.hit_rate)}, "
                f"turn tasks {self.count(tasks, TURN_TASK)}")

    def concurrent(self, count: int) -> None:
        from pyworkflow import start

        timeout = (60 + count * 0.5) * self.scale
        log(f"concurrent: {count} runs of bench_three_steps")

        def workflows() -> float:
            t0 = time.perf_counter()
            run_ids = [start(self.bw.bench_three_steps) for _ in range(count)]
            self.wait_completed(run_ids, timeout)
            return time.perf_counter() - t0

        def chains() -> float:
            t0 = time.perf_counter()
            ids = set()
            for _ in range(count):
                chain_id = uuid.uuid4().hex
                ids.add(chain_id)
                self.chain(self.plain.si(0), self.plain.si(1),
                           self.plain.si(2, done=chain_id)).apply_async()
            deadline = time.monotonic() + timeout
            while ids:
                ids.discard(self.blpop(self.done_key, deadline, f"{len(ids)} chains"))
            return time.perf_counter() - t0

        with self.phase(f"{count} concurrent 3-step workflows") as wf_phase:
            wf_elapsed = self.measure("pyworkflow", "conc", 3 * count, workflows)
        log(f"concurrent: {count} plain 3-task celery chains")
        chain_elapsed = self.measure("celery", "conc", 3 * count, chains)
        r = self.results
        if self.dbos is not None:
            log(f"concurrent: {count} DBOS 3-step workflows")
            out = self.measure("dbos", "conc", 3 * count, self.dbos.call, "conc",
                               timeout=timeout, count=count)
            r.dbos_runs_per_s = count / float(out["elapsed"])
        r.conc_runs = count
        r.wf_runs_per_s = count / wf_elapsed
        r.chains_per_s = count / chain_elapsed
        r.conc_hit_rate = wf_phase["hit_rate"]
        r.conc_step_task_ms = self.run_ms(wf_phase["tasks"], STEP_TASK)
        r.conc_turn_tasks = self.count(wf_phase["tasks"], TURN_TASK)
        log(f"  {r.wf_runs_per_s:.1f} runs/s vs {r.chains_per_s:.1f} chains/s"
            + (f" vs DBOS {r.dbos_runs_per_s:.1f} runs/s" if r.dbos_runs_per_s else "")
            + f", cache hit rate {fmt_rate(r.conc_hit_rate)}")

    def timers(self, count: int, seconds: float) -> None:
        timeout = (120 + seconds + count * 0.1) * self.scale
        log(f"timers: {count} pyworkflow runs sleeping {seconds:g} s, then one step")
        with self.phase(f"{count} runs sleeping {seconds:g} s"):
            res = self.measure("pyworkflow", "timers", count, timers.run_pyworkflow,
                               self, self.sampler, count, seconds, timeout)
        self.results.timers["pyworkflow"] = res
        log(f"  lateness p50 {res.p50_ms:.0f} ms, p99 {res.p99_ms:.0f} ms, "
            f"max {res.max_ms:.0f} ms (starting them took {res.start_s:.1f} s)")
        if self.dbos is None:
            return
        if count > DBOS_TIMERS_MAX:
            self.results.notes.append(f"DBOS timers not run with {count} runs (more than "
                                      f"{DBOS_TIMERS_MAX}: one thread each in DBOS)")
            return
        log(f"timers: {count} DBOS runs sleeping {seconds:g} s, then one step")
        res = self.measure("dbos", "timers", count, timers.run_dbos, self.dbos, count, seconds,
                           timeout)
        self.results.timers["dbos"] = res
        log(f"  lateness p50 {res.p50_ms:.0f} ms, p99 {res.p99_ms:.0f} ms, "
            f"max {res.max_ms:.0f} ms")

    def big_timers(self, count: int) -> None:
        """Many runs asleep at once (pyworkflow only: DBOS holds a thread per sleeping
        workflow): started back to back, they sleep long enough that all are started
        before the first wakes; their lateness and the worker's RSS before, at its peak
        and after."""
        seconds = big_timer_sleep(count)
        timeout = (120 + seconds + count * 0.1) * self.scale
        log(f"many sleepers: {count} pyworkflow runs sleeping {seconds:g} s, then one step")
        res = timers.run_pyworkflow(self, self.sampler, count, seconds, timeout)
        self.results.big_timers = res
        log(f"  lateness p50 {res.p50_ms:.0f} ms, p99 {res.p99_ms:.0f} ms, "
            f"max {res.max_ms:.0f} ms (starting them took {res.start_s:.1f} s); worker RSS "
            f"{(res.rss_before or 0) / 2**20:.0f} MB before, {(res.rss_peak or 0) / 2**20:.0f}"
            f" MB at the peak")

    def timer_rounds(self, rounds: int, count: int, seconds: float) -> None:
        """``--only-timers``: the timers phase ``rounds`` times, the system going first
        alternating (a shared machine's load drifts), then each system's medians."""
        got: dict[str, list[Any]] = {}
        dbos, self.dbos = self.dbos, None
        try:
            for i in range(rounds):
                order = ["pyworkflow", "dbos"] if i % 2 == 0 else ["dbos", "pyworkflow"]
                for system in order:
                    if system == "pyworkflow":
                        self.timers(count, seconds)
                        got.setdefault(system, []).append(self.results.timers[system])
                    elif dbos is not None and count <= DBOS_TIMERS_MAX:
                        log(f"timers: {count} DBOS runs sleeping {seconds:g} s, then one step")
                        res = timers.run_dbos(dbos, count, seconds,
                                              (120 + seconds + count * 0.1) * self.scale)
                        log(f"  lateness p50 {res.p50_ms:.0f} ms, p99 {res.p99_ms:.0f} ms, "
                            f"max {res.max_ms:.0f} ms")
                        got.setdefault(system, []).append(res)
        finally:
            self.dbos = dbos
        for system, results in got.items():
            rss = [(r.rss_before, r.rss_peak, r.rss_after) for r in results if r.rss_before]
            log(f"{system}: {len(results)} rounds of {count} sleeping {seconds:g} s: "
                f"p50 {[round(r.p50_ms) for r in results]} median "
                f"{statistics.median(r.p50_ms for r in results):.0f} ms; "
                f"p99 {[round(r.p99_ms) for r in results]} median "
                f"{statistics.median(r.p99_ms for r in results):.0f} ms"
                + (f"; worker RSS MB before/peak/after "
                   f"{[tuple(round((x or 0) / 2**20) for x in t) for t in rss]}" if rss else ""))

    # turn cost ----------------------------------------------------------------------
    def actor_round_trip(self, actor_id: str, i: int) -> float:
        t0 = time.perf_counter()
        self.rt.system.send(actor_id, "ping", {"n": i})
        got = self.blpop(self.turn_key, time.monotonic() + 30 * self.scale, "an actor turn")
        elapsed = time.perf_counter() - t0
        if got != actor_id:
            raise BenchError(f"turn of {actor_id} expected, {got} reported")
        return elapsed

    def ping_round_trip(self) -> float:
        token = uuid.uuid4().hex
        t0 = time.perf_counter()
        self.app.send_task(self.bw.PING_TASK, args=[token])
        got = self.blpop(self.ping_key, time.monotonic() + 30 * self.scale, "a ping task")
        elapsed = time.perf_counter() - t0
        if got != token:
            raise BenchError(f"ping {token} expected, {got} reported")
        return elapsed

    def memory(self, count: int) -> None:
        """Redis bytes per run: completed (3 steps), sleeping, waiting on a hook."""
        import pyworkflow

        rt, bw = self.rt, self.bw
        client, prefix = rt.redis, rt.settings.key_prefix

        def status(run_id: str) -> str:
            raw = client.hget(self.record_key(run_id), "status")
            return raw.decode() if raw else ""

        def has_event(run_id: str, kind: str) -> bool:
            return any(e["type"] == kind for e in pyworkflow.get_workflow_events(run_id))

        def sealed(run_id: str) -> bool:
            """Its worker sealed its journal (``actors.compaction``, a moment after the
            run ended or began to wait): what a run holds from then on."""
            return bool(client.exists(rt.system.actor_keys(run_id).sealed))

        kinds = (("completed 3-step run", lambda: pyworkflow.start(bw.bench_three_steps),
                  lambda r: status(r) == "completed" and sealed(r)),
                 ("sleeping run", lambda: pyworkflow.start(bw.bench_sleep_then_step, 86400.0),
                  lambda r: status(r) == "suspended" and sealed(r)
                  and has_event(r, "sleep_started")),
                 ("run waiting on a hook", lambda: pyworkflow.start(bw.bench_wait_hook),
                  lambda r: status(r) == "suspended" and sealed(r)
                  and has_event(r, "hook_created")))
        for label, start, ready in kinds:
            row = memory.measure(client, prefix, label, count, start, ready,
                                 timeout=300 * self.scale)
            self.results.memory.append(row)
            log(row.line().strip())
        for run_id in pyworkflow.list_workflow_runs(status="suspended", limit=count * 3):
            pyworkflow.cancel_workflow(run_id.run_id)
        if self.dbos is not None:
            for kind, label in (("completed", "completed 3-step run"),
                                ("sleeping", "sleeping run")):
                out = self.dbos.call("memory", timeout=600 * self.scale, kind=kind,
                                     count=count, seconds=30.0)
                self.results.dbos_memory.append((label, count, out["table"], out["index"]))
                log(f"  DBOS {label}: {out['table'] + out['index']:,.0f} B/run "
                    f"(table {out['table']:,.0f}, indexes {out['index']:,.0f})")

    def turn_cost(self, count: int) -> None:
        log(f"turn cost: {count} x (message to one actor, message to a fresh actor, "
            "plain task), interleaved")
        actor = f"{self.bw.ACTOR_PREFIX}{uuid.uuid4().hex[:12]}"
        with self.phase("turn cost (actor turns and plain tasks)") as ph:
            for i in range(count):
                self.results.actor_same.append(self.actor_round_trip(actor, i))
                fresh = f"{self.bw.ACTOR_PREFIX}fresh-{uuid.uuid4().hex[:12]}"
                self.results.actor_fresh.append(self.actor_round_trip(fresh, 0))
                self.results.celery_rt.append(self.ping_round_trip())
        self.results.turn_hit_rate = ph["hit_rate"]


# -- reporting -------------------------------------------------------------------------
def fmt_rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(r: Results) -> str:
    lines: list[str] = []
    add = lines.append
    add("pyworkflow benchmark")
    add(f"  when: {r.started}   options: {json.dumps(r.options, sort_keys=True)}")
    add("")
    add("Sequential workflow of N trivial steps vs N plain Celery tasks (median over reps)")
    add(f"  {'N':>5} {'reps':>4} | {'wf ms/step':>10} | {'chain ms/task':>13} "
        f"{'self-chain':>10} | {'wf/chain':>8} {'wf/self':>7} | {'DBOS ms/step':>12} | "
        f"{'cache hit':>9} | {'step task ms':>12} {'turn task ms':>12}")
    for row in r.seq:
        vs_chain = (None if row.chain_per_task_ms is None
                    else row.wf_per_step_ms / row.chain_per_task_ms)
        vs_self = row.wf_per_step_ms / row.self_chain_per_task_ms
        add(f"  {row.n:>5} {row.reps:>4} | {row.wf_per_step_ms:>10.2f} | "
            f"{fmt_ms(row.chain_per_task_ms):>13} {row.self_chain_per_task_ms:>10.2f} | "
            f"{fmt_ms(vs_chain):>8} {vs_self:>7.2f} | {fmt_ms(row.dbos_per_step_ms):>12} | "
            f"{fmt_rate(row.hit_rate):>9} | "
            f"{fmt_ms(row.step_task_ms):>12} {fmt_ms(row.turn_task_ms):>12}")
    for row in r.seq:
        if row.chain_note != "celery.chain":
            add(f"  N={row.n}: {row.chain_note}; the self-chaining baseline stands in")
    add("  (step task ms: mean run time of a step task inside the worker: the step, the")
    add("   turn it runs in place and the steps it keeps and runs in place after it, up to")
    add("   100 ms; turn task ms: turn tasks (start, recoveries), with their steps in place)")
    add("")
    if r.conc_runs:
        add(f"Concurrent: {r.conc_runs} runs of a 3-step workflow vs {r.conc_runs} plain "
            "3-task chains")
        add(f"  workflow: {r.wf_runs_per_s:8.1f} runs/s   chains: {r.chains_per_s:8.1f} "
            f"chains/s   chain/workflow throughput ratio: {r.chains_per_s / r.wf_runs_per_s:.2f}"
            + (f"   DBOS: {r.dbos_runs_per_s:.1f} runs/s" if r.dbos_runs_per_s else ""))
        add(f"  cache hit rate {fmt_rate(r.conc_hit_rate)}, step task "
            f"{fmt_ms(r.conc_step_task_ms)} ms, separate turn tasks {r.conc_turn_tasks}")
        add("")
    if r.celery_rt:
        add(f"Turn cost: round trip, sequential, one at a time ({len(r.celery_rt)} each)")
        for label, values in (("actor turn, one actor (cached state)", r.actor_same),
                              ("actor turn, fresh actor each time", r.actor_fresh),
                              ("plain Celery task", r.celery_rt)):
            add(f"  {label:<38} median {statistics.median(values) * 1000:6.2f} ms   "
                f"p95 {pct(values, 0.95) * 1000:6.2f} ms")
        add(f"  actor/celery median ratio: "
            f"{statistics.median(r.actor_same) / statistics.median(r.celery_rt):.2f} (one actor), "
            f"{statistics.median(r.actor_fresh) / statistics.median(r.celery_rt):.2f} (fresh)"
            f"   cache hit rate {fmt_rate(r.turn_hit_rate)}")
        add("")
    total = r.total_hits + r.total_misses
    add(f"State-cache hit rate, all worker processes, whole run: "
        f"{fmt_rate(r.total_hits / total if total else None)} "
        f"({r.total_hits} hits, {r.total_misses} misses)")
    add("")
    if r.phases:
        add("Where the time goes: per task, as the worker processes measured it (means)")
        add("  (run ms: task body, prerun to postrun; redis rt: round trips the task's own")
        add("   thread made, pipelines count once; redis ms: time sending to and waiting on")
        add("   Redis; other ms: the rest of run ms, i.e. Python and JSON; a step task's")
        add("   figures include the turn it runs in place and the steps it then runs in place;")
        add("   so do a turn task's)")
        add(f"  {'phase':<40} {'task':<16} {'count':>6} {'run ms':>7} {'redis rt':>8} "
            f"{'redis ms':>8} {'other ms':>8}")
        for label, tasks, takeovers in r.phases:
            for name in sorted(tasks):
                t = tasks[name]
                add(f"  {label:<40} {name:<16} {t.tasks:>6} {t.run_ms:>7.2f} "
                    f"{t.rt_per_task:>8.1f} {t.io_ms:>8.2f} {t.run_ms - t.io_ms:>8.2f}")
                label = ""
            if takeovers:
                add(f"  {'':<40} {takeovers} x '{TAKEOVER_LINE}' in the worker log")
        add("")
    lines.extend(memory_section(r))
    for note in r.notes:
        add(f"note: {note}")
    if r.notes:
        add("")
    lines.extend(side_by_side.report(r))
    return "\n".join(lines)


# -- set-up and clean-up ----------------------------------------------------------------
def delete_keys(client: Any, prefix: str) -> int:
    deleted = 0
    for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*"):
        batch = [k for k in client.scan_iter(match=pattern, count=1000)]
        for i in range(0, len(batch), 500):
            deleted += int(client.delete(*batch[i:i + 500]))
    # Celery's own unacked hash is global ("unacked"): drop only entries of our queues
    # (there are some only if a worker was killed holding a task).
    for raw_tag, raw in client.hscan_iter("unacked", count=1000):
        with contextlib.suppress(Exception):
            _, _exchange, routing_key = json.loads(raw)
            if str(routing_key).startswith(prefix):
                client.hdel("unacked", raw_tag)
                client.zrem("unacked_index", raw_tag)
    return deleted


def _dbos_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dbos")
    except PackageNotFoundError:
        return ""


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def memory_section(r: Results) -> list[str]:
    """The "Redis memory per run" rows (``--memory`` prints only these), with DBOS's
    Postgres bytes for the same kinds of run when it ran."""
    if not r.memory:
        return []
    out = ["Redis memory per run (--memory: MEMORY USAGE of each run's own keys, plus the",
           " growth of shared indexes per run; used_memory delta as a cross-check)"]
    out.extend(row.line() for row in r.memory)
    if r.dbos_memory:
        out.append(f"  DBOS {r.dbos_version or ''} on Postgres, the same kinds (growth of its "
                   "tables and indexes over the runs, per run):")
        out.extend(f"  {label:<24} {table + index:>7,.0f} B/run  (tables {table:,.0f}, "
                   f"indexes {index:,.0f}; {runs} runs)"
                   for label, runs, table, index in r.dbos_memory)
    return [*out, ""]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true",
                   help="N = 10, 100 and 100 concurrent runs (instead of 10, 100, 1000 and 500); "
                        "does not write last-results.txt")
    p.add_argument("--concurrent", type=int, default=None,
                   help="concurrent runs (default 500, --quick 100)")
    p.add_argument("--timers", type=int, default=200,
                   help="runs sleeping at once (200; e.g. 10000 for the 10,000-timer target)")
    p.add_argument("--timer-sleep", type=float, default=None,
                   help="their sleep in seconds (5; 120 from 2,000 runs, so all sleep at once)")
    p.add_argument("--big-timers", type=int, default=None, metavar="N",
                   help="also N runs asleep at once, pyworkflow only (default 10,000, "
                        "--quick 0; 0: skip; not run when --timers is 2,000 or more)")
    p.add_argument("--only-timers", type=int, default=0, metavar="ROUNDS",
                   help="only the timers rows, ROUNDS times (pyworkflow and DBOS in turn, "
                        "the first system alternating), then the medians; prints, "
                        "last-results.txt is left alone (a noisy machine needs several)")
    p.add_argument("--no-dbos", action="store_true", help="skip the DBOS Transact column")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", dbos_peer.DEFAULT_PG_URL),
                   help="Postgres for DBOS (a fresh database is created there and dropped)")
    p.add_argument("--memory", action="store_true",
                   help="only the memory rows: Redis bytes per run of each kind, beside "
                        "DBOS's Postgres bytes (prints; last-results.txt is left alone)")
    p.add_argument("--memory-runs", type=int, default=1000,
                   help="runs of each kind measured for Redis bytes per run (1000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--concurrency", type=int, default=2, help="pool size per worker (2)")
    p.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    p.add_argument("--loglevel", default="INFO", help="worker log level (INFO)")
    p.add_argument("--turn-count", type=int, default=1000,
                   help="round trips per turn-cost figure (1000)")
    p.add_argument("--timeout-scale", type=float, default=1.0,
                   help="multiply every timeout by this")
    p.add_argument("--keep-logs", action="store_true", help="keep the worker logs")
    p.add_argument("--no-io-trace", action="store_true",
                   help="do not count Redis round trips per task in the workers")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    os.environ["PYWORKFLOW_KEY_PREFIX"] = prefix
    os.environ.setdefault("PYWORKFLOW_LOG_FORMAT", "json")
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from ops.bench import bench_workflows  # noqa: F401  (workflows, tasks, actor route)
    from pyworkflow.config import celery_broker_url, redis_client
    from pyworkflow.worker import _runtime

    rt = _runtime.runtime()
    if rt.settings.embedded:
        log("note: running against the embedded Redis server")
    ns = [10, 100] if args.quick else [10, 100, 1000]
    conc = args.concurrent or (100 if args.quick else 500)
    timer_sleep = args.timer_sleep or (5.0 if args.timers < 2000 else big_timer_sleep(args.timers))
    big_timers = (0 if args.timers >= 2000 else args.big_timers if args.big_timers is not None
                  else 0 if args.quick else 10_000)
    results = Results(
        started=dt.datetime.now().isoformat(timespec="seconds"),
        options={"quick": args.quick, "workers": args.workers,
                 "concurrency": args.concurrency, "pool": args.pool, "ns": ns,
                 "concurrent_runs": conc, "turn_count": args.turn_count,
                 "timers": args.timers, "timer_sleep": timer_sleep, "big_timers": big_timers,
                 "cpus": os.cpu_count(), "loglevel": args.loglevel,
                 "io_trace": not args.no_io_trace})
    log_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-logs-"))
    env = {**os.environ, "PYWORKFLOW_KEY_PREFIX": prefix,
           "PYWORKFLOW_BENCH_IOTRACE": "0" if args.no_io_trace else "1"}
    workers = Workers(args.workers, args.concurrency, args.pool, args.loglevel, log_dir, env)
    plain_env = {**env, "BENCH_PLAIN_PREFIX": prefix,
                 "BENCH_PLAIN_BROKER_URL": celery_broker_url(rt.settings.broker_url),
                 "BENCH_PLAIN_REDIS_URL": rt.settings.redis_url}
    plain_workers = Workers(
        args.workers, args.concurrency, args.pool, args.loglevel, log_dir, plain_env,
        argv=[str(Path(sys.executable).with_name("celery")), "-A", "ops.bench.plain_celery",
              "worker", "--pool", args.pool, "--concurrency", str(args.concurrency),
              "--loglevel", args.loglevel, "-Q", plain_celery.queue_name(prefix),
              "--hostname", f"plain-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
              "--without-heartbeat"],
        name="plain-celery")
    plain_app = plain_celery.make_app(plain_env["BENCH_PLAIN_BROKER_URL"],
                                      rt.settings.redis_url, prefix, current=False)
    results.dbos_skipped = ("--no-dbos" if args.no_dbos
                            else dbos_peer.unavailable(args.pg_url))
    dbos: dbos_peer.DbosPeer | None = None
    sampler = _proctree.TreeSampler()
    failed = False
    try:
        log(f"key prefix {prefix}; worker logs in {log_dir}")
        workers.start()
        plain_workers.start()
        took = workers.wait_ready(timeout=60 * args.timeout_scale)
        plain_workers.wait_ready(timeout=60 * args.timeout_scale)
        log(f"{args.workers} pyworkflow and plain Celery worker(s) ready in {took:.1f}s "
            f"(--pool {args.pool} --concurrency {args.concurrency})")
        if results.dbos_skipped is None:
            dbos = dbos_peer.DbosPeer(args.pg_url, log_dir / "dbos.log")
            try:
                dbos.start(timeout=120 * args.timeout_scale)
            except RuntimeError as exc:  # e.g. Postgres answers but refuses us
                lines = [x for x in str(exc).splitlines() if x.strip()]
                results.dbos_skipped = f"DBOS did not start: {lines[-1] if lines else exc}"
                log(f"DBOS Transact column skipped: {results.dbos_skipped}")
                trouble = dbos.close()
                if trouble:
                    log(trouble)
                dbos = None
            else:
                results.dbos_version = _dbos_version()
                log(f"DBOS Transact {results.dbos_version} ready on database {dbos.db}")
        else:
            log(f"DBOS Transact column skipped: {results.dbos_skipped}")
        sampler.watch("pyworkflow", [p.pid for p in workers.procs])
        sampler.watch("celery", [p.pid for p in plain_workers.procs])
        if dbos is not None:
            sampler.watch("dbos", [dbos.pid])
        sampler.start()
        bench = Bench(rt, workers, results, args.timeout_scale, plain_app, plain_workers,
                      dbos, sampler)
        if args.memory:  # the memory rows alone (Sizing Redis in docs/operations)
            bench.memory(args.memory_runs)
            print("\n" + "\n".join(memory_section(results)), flush=True)
            return 0
        bench.warm_up()
        if args.only_timers:
            bench.timer_rounds(args.only_timers, args.timers, timer_sleep)
            return 0
        bench.sequential(ns)
        results.notes.append(task_as_step.bench_row(rt))  # ops/bench/task_as_step.py
        results.notes.extend(flow_control.bench_rows(rt))  # ops/bench/flow_control.py
        bench.concurrent(conc)
        bench.timers(args.timers, timer_sleep)
        bench.turn_cost(args.turn_count)
        results.total_hits, results.total_misses = bench.cache_counts()
        sampler.sample()
        sampler.stop()
        results.peak_mem = {name: (peak.rss, peak.pss) for name, peak in sampler.peaks.items()}
        if big_timers:  # after the peak RSS above: thousands of runs fill the state caches
            bench.big_timers(big_timers)
        # Last, and outside the RSS figure: thousands of waiting runs fill the workers'
        # state caches, which is the memory phase's load, not the other workloads'.
        bench.memory(args.memory_runs)
        text = summary(results)
        print("\n" + text, flush=True)
        if args.quick:
            log(f"--quick: {RESULTS_FILE.relative_to(REPO)} left as it was")
        else:
            RESULTS_FILE.write_text(text + "\n")
            log(f"written to {RESULTS_FILE.relative_to(REPO)}")
        return 0
    except KeyboardInterrupt:
        failed = True
        log("interrupted")
        return 130
    except Exception:
        failed = True
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("stopping workers")
        sampler.stop()
        for note in workers.stop() + plain_workers.stop():
            log(note)
        if dbos is not None:
            trouble = dbos.close()
            log(trouble or f"DBOS stopped, database {dbos.db} dropped")
            if trouble:
                failed = True
        deleted = delete_keys(rt.redis, prefix)
        if rt.settings.broker_url != rt.settings.redis_url:  # its queues are elsewhere
            with contextlib.suppress(Exception):
                deleted += delete_keys(redis_client(rt.settings.broker_url), prefix)
        log(f"deleted {deleted} keys under {prefix}")
        if failed or args.keep_logs:
            log(f"worker logs kept in {log_dir}")
        else:
            for path in [*workers.logs, *plain_workers.logs, log_dir / "dbos.log"]:
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):
                log_dir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
