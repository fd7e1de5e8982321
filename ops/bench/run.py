"""The pyworkflow benchmark: workflows against plain Celery, on the same worker.

    python ops/bench/run.py [--quick]

Starts real ``pyworkflow worker run`` processes under a private key prefix,
measures, prints a summary (also written to ``ops/bench/last-results.txt``),
stops the workers and deletes every key it wrote, even on error or Ctrl-C.
See ``ops/bench/README.md`` for what each figure means.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyworkflow.ids import STEP_TASK, TURN_TASK

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "last-results.txt"
MODULE = "ops.bench.bench_workflows"
PYWORKFLOW = str(Path(sys.executable).with_name("pyworkflow"))

SCALING_TARGET = 1.3  # per-step(N=max) / per-step(N=10)
RATIO_TARGET = 2.0  # workflow / plain Celery
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
                 log_dir: Path, env: dict[str, str]) -> None:
        self.count = count
        self.concurrency = concurrency
        self.pool = pool
        self.loglevel = loglevel
        self.log_dir = log_dir
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self) -> None:
        for i in range(self.count):
            path = self.log_dir / f"worker-{i}.log"
            self.logs.append(path)
            with open(path, "ab") as out:
                self.procs.append(subprocess.Popen(
                    [PYWORKFLOW, "--module", MODULE, "worker", "run",
                     "--concurrency", str(self.concurrency), "--pool", self.pool,
                     "--loglevel", self.loglevel, "--hostname", f"bench{i}-{os.getpid()}@%h"],
                    cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
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


# -- the benchmark ---------------------------------------------------------------------
class Bench:
    def __init__(self, rt: Any, workers: Workers, results: Results, timeout_scale: float) -> None:
        from celery import chain

        from ops.bench import bench_workflows as bw

        self.rt = rt
        self.bw = bw
        self.chain = chain
        self.workers = workers
        self.results = results
        self.scale = timeout_scale
        self.app = rt.celery
        self.plain = self.app.tasks[bw.PLAIN_TASK]
        self.done_key = bw.bench_key(rt, "done")
        self.ping_key = bw.bench_key(rt, "ping-done")
        self.turn_key = bw.bench_key(rt, "turn-done")

    # helpers ----------------------------------------------------------------------
    def blpop(self, key: str, deadline: float, what: str) -> str:
        """BLPOP in short slices (the client's socket timeout is 30 s)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.workers.check_alive()
                raise BenchError(f"timed out waiting for {what}")
            item = self.rt.redis.blpop([key], timeout=max(0.01, min(5.0, left)))
            if item is not None:
                return str(item[1].decode())
            self.workers.check_alive()

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

    # workflows ------------------------------------------------------------------------
    def run_workflow(self, wf: Callable[..., Any], *args: Any, timeout: float) -> float:
        """Wall time from ``start()`` to status completed, polling every 2 ms."""
        from pyworkflow import get_workflow_run, start

        t0 = time.perf_counter()
        run_id = start(wf, *args)
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            status = get_workflow_run(run_id).status
            if status == "completed":
                return time.perf_counter() - t0
            if status in ("failed", "cancelled", "parked"):
                info = get_workflow_run(run_id)
                raise BenchError(f"run {run_id} ended {status}: {info.error}")
            polls += 1
            if polls % 500 == 0:
                self.workers.check_alive()
                if time.monotonic() > deadline:
                    raise BenchError(f"run {run_id} still {status} after {timeout:.0f}s")
            time.sleep(0.002)

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
        self.app.send_task(self.bw.SELF_CHAIN_TASK, args=[0, n - 1, chain_id])
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

    def sequential(self, ns: list[int]) -> None:
        for n in ns:
            reps = {10: 5, 100: 3}.get(n, 1)
            timeout = (60 + n * 0.5) * self.scale
            wf_t: list[float] = []
            chain_t: list[float] = []
            self_t: list[float] = []
            chain_note = "celery.chain"
            log(f"sequential N={n}: {reps} rep(s) of workflow / celery.chain / self-chain")
            with self.phase(f"sequential workflow N={n}") as wf_phase:
                for _ in range(reps):
                    wf_t.append(self.run_workflow(self.bw.bench_sequential, n, timeout=timeout))
            with self.phase(f"sequential plain tasks N={n}"):
                for _ in range(reps):
                    if chain_note == "celery.chain":
                        try:
                            chain_t.append(self.run_chain(n, timeout=timeout))
                        except RecursionError as exc:
                            chain_note = f"celery.chain failed ({type(exc).__name__})"
                            self.results.notes.append(f"N={n}: {chain_note}: {exc}")
                    self_t.append(self.run_self_chain(n, timeout=timeout))
            tasks = wf_phase["tasks"]
            row = SeqRow(
                n=n, reps=reps,
                wf_per_step_ms=statistics.median(wf_t) / n * 1000,
                chain_per_task_ms=statistics.median(chain_t) / n * 1000 if chain_t else None,
                chain_note=chain_note,
                self_chain_per_task_ms=statistics.median(self_t) / n * 1000,
                hit_rate=wf_phase["hit_rate"],
                step_task_ms=self.run_ms(tasks, STEP_TASK),
                turn_task_ms=self.run_ms(tasks, TURN_TASK))
            self.results.seq.append(row)
            chain_txt = ("-" if row.chain_per_task_ms is None
                         else f"{row.chain_per_task_ms:.2f}")
            log(f"  workflow {row.wf_per_step_ms:.2f} ms/step, chain {chain_txt} ms/task, "
                f"self-chain {row.self_chain_per_task_ms:.2f} ms/task, "
                f"cache hit rate {fmt_rate(row.hit_rate)}, "
                f"turn tasks {self.count(tasks, TURN_TASK)}")

    def concurrent(self, count: int) -> None:
        from pyworkflow import start

        timeout = (60 + count * 0.5) * self.scale
        log(f"concurrent: {count} runs of bench_three_steps")
        with self.phase(f"{count} concurrent 3-step workflows") as wf_phase:
            t0 = time.perf_counter()
            run_ids = [start(self.bw.bench_three_steps) for _ in range(count)]
            pending = {rid: self.record_key(rid) for rid in run_ids}
            deadline = time.monotonic() + timeout
            while pending:
                pipe = self.rt.redis.pipeline(transaction=False)
                items = list(pending.items())
                for _, key in items:
                    pipe.hget(key, "status")
                for (rid, _), raw in zip(items, pipe.execute(), strict=True):
                    status = raw.decode() if raw else "pending"
                    if status == "completed":
                        del pending[rid]
                    elif status in ("failed", "cancelled", "parked"):
                        raise BenchError(f"run {rid} ended {status}")
                if pending:
                    if time.monotonic() > deadline:
                        raise BenchError(f"{len(pending)} of {count} runs unfinished after "
                                         f"{timeout:.0f}s")
                    time.sleep(0.01)
            wf_elapsed = time.perf_counter() - t0
        log(f"concurrent: {count} plain 3-task celery chains")
        with self.phase(f"{count} concurrent 3-task chains"):
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
            chain_elapsed = time.perf_counter() - t0
        r = self.results
        r.conc_runs = count
        r.wf_runs_per_s = count / wf_elapsed
        r.chains_per_s = count / chain_elapsed
        r.conc_hit_rate = wf_phase["hit_rate"]
        r.conc_step_task_ms = self.run_ms(wf_phase["tasks"], STEP_TASK)
        r.conc_turn_tasks = self.count(wf_phase["tasks"], TURN_TASK)
        log(f"  {r.wf_runs_per_s:.1f} runs/s vs {r.chains_per_s:.1f} chains/s, "
            f"cache hit rate {fmt_rate(r.conc_hit_rate)}")

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
        f"{'self-chain':>10} | {'wf/chain':>8} {'wf/self':>7} | {'cache hit':>9} | "
        f"{'step task ms':>12} {'turn task ms':>12}")
    for row in r.seq:
        vs_chain = (None if row.chain_per_task_ms is None
                    else row.wf_per_step_ms / row.chain_per_task_ms)
        vs_self = row.wf_per_step_ms / row.self_chain_per_task_ms
        add(f"  {row.n:>5} {row.reps:>4} | {row.wf_per_step_ms:>10.2f} | "
            f"{fmt_ms(row.chain_per_task_ms):>13} {row.self_chain_per_task_ms:>10.2f} | "
            f"{fmt_ms(vs_chain):>8} {vs_self:>7.2f} | {fmt_rate(row.hit_rate):>9} | "
            f"{fmt_ms(row.step_task_ms):>12} {fmt_ms(row.turn_task_ms):>12}")
    for row in r.seq:
        if row.chain_note != "celery.chain":
            add(f"  N={row.n}: {row.chain_note}; the self-chaining baseline stands in")
    add("  (step task ms: mean run time of a step task inside the worker: the step plus the")
    add("   turn it runs in place; turn task ms: separate turn tasks: start, recoveries)")
    add("")
    if r.conc_runs:
        add(f"Concurrent: {r.conc_runs} runs of a 3-step workflow vs {r.conc_runs} plain "
            "3-task chains")
        add(f"  workflow: {r.wf_runs_per_s:8.1f} runs/s   chains: {r.chains_per_s:8.1f} "
            f"chains/s   chain/workflow throughput ratio: {r.chains_per_s / r.wf_runs_per_s:.2f}")
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
        add("   figures include the turn it runs in place and the publish of the next step)")
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
    add("Targets")
    if len(r.seq) >= 2:
        first, last = r.seq[0], r.seq[-1]
        scaling = last.wf_per_step_ms / first.wf_per_step_ms
        add(f"  per-step N={last.n} / N={first.n}: {scaling:.2f} (target <= {SCALING_TARGET})"
            f"  {verdict(scaling <= SCALING_TARGET)}"
            + ("" if last.n == 1000 else "  [--quick: N=1000 not run]"))
    for row in r.seq:
        ratio = row.wf_per_step_ms / row.best_baseline_ms
        add(f"  N={row.n}: workflow/plain Celery per step: {ratio:.2f} "
            f"(vs the faster baseline; target <= {RATIO_TARGET})  {verdict(ratio <= RATIO_TARGET)}")
    if r.conc_runs:
        ratio = r.chains_per_s / r.wf_runs_per_s
        add(f"  concurrent: chains/s / runs/s: {ratio:.2f} (target <= {RATIO_TARGET})  "
            f"{verdict(ratio <= RATIO_TARGET)}")
    for note in r.notes:
        add(f"  note: {note}")
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


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true",
                   help="N = 10, 100 and 100 concurrent runs (instead of 10, 100, 1000 and 500)")
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
    from pyworkflow import _runtime

    rt = _runtime.runtime()
    if rt.settings.embedded:
        log("note: running against the embedded Redis server")
    ns = [10, 100] if args.quick else [10, 100, 1000]
    conc = 100 if args.quick else 500
    results = Results(
        started=dt.datetime.now().isoformat(timespec="seconds"),
        options={"quick": args.quick, "workers": args.workers,
                 "concurrency": args.concurrency, "pool": args.pool, "ns": ns,
                 "concurrent_runs": conc, "turn_count": args.turn_count,
                 "cpus": os.cpu_count(), "loglevel": args.loglevel,
                 "io_trace": not args.no_io_trace})
    log_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-logs-"))
    env = {**os.environ, "PYWORKFLOW_KEY_PREFIX": prefix,
           "PYWORKFLOW_BENCH_IOTRACE": "0" if args.no_io_trace else "1"}
    workers = Workers(args.workers, args.concurrency, args.pool, args.loglevel, log_dir, env)
    failed = False
    try:
        log(f"key prefix {prefix}; worker logs in {log_dir}")
        workers.start()
        took = workers.wait_ready(timeout=60 * args.timeout_scale)
        log(f"{args.workers} worker(s) ready in {took:.1f}s "
            f"(--pool {args.pool} --concurrency {args.concurrency})")
        bench = Bench(rt, workers, results, args.timeout_scale)
        bench.warm_up()
        bench.sequential(ns)
        bench.concurrent(conc)
        bench.turn_cost(args.turn_count)
        results.total_hits, results.total_misses = bench.cache_counts()
        text = summary(results)
        print("\n" + text, flush=True)
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
        for note in workers.stop():
            log(note)
        deleted = delete_keys(rt.redis, prefix)
        log(f"deleted {deleted} keys under {prefix}")
        if failed or args.keep_logs:
            log(f"worker logs kept in {log_dir}")
        else:
            for path in workers.logs:
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):
                log_dir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
