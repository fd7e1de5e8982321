"""DBOS Transact as a third column: the same workloads, in a process of its own.

    python -m ops.bench.dbos_peer serve --pg-url postgresql://postgres@127.0.0.1:5432/postgres

``run.py`` starts this module as a child process (``DbosPeer``) when the ``dbos``
package is importable (the ``bench`` extra) and a Postgres answers. The child
creates a fresh database (``bench_dbos_<hex>``), launches DBOS on it with its
defaults (workflows and steps run in this process's threads, state in Postgres,
no broker), answers one JSON command per line on stdin with one JSON line on
stdout (prefixed ``@@bench ``, so DBOS's own output cannot be mistaken for it),
and at the end destroys DBOS and drops the database (``DROP DATABASE ... WITH
(FORCE)``); if the child dies first, ``DbosPeer.close`` drops it from another one
(``python -m ops.bench.dbos_peer drop --db <name>``).

Commands: ``warm``; ``seq n`` (one workflow of n trivial steps: seconds from
``start_workflow`` to its result); ``conc count`` (count 3-step workflows started
back to back: seconds until every result is in); ``timers count seconds`` (count
workflows that each ``DBOS.sleep(seconds)`` then run one step returning the wall
time: each run's lateness, the step's time minus the moment the sleep was due).
``memory kind count`` (Postgres table and index bytes per run, over ``count`` completed
3-step runs or runs asleep). Its process tree is this one process, so its CPU and
memory include what, for the Celery systems, the client (the bench process) does:
starting the workflows.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
MARK = "@@bench "
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def unavailable(pg_url: str) -> str | None:
    """Why the DBOS column cannot run here, or None."""
    if importlib.util.find_spec("dbos") is None:
        return "the dbos package is not installed (pip install -e '.[bench]')"
    parts = urlsplit(pg_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return f"no Postgres answers on {host}:{port} ({exc.strerror or exc})"
    return None


# -- the child ---------------------------------------------------------------------
def _admin(pg_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


#: Table and index bytes of every table in the benchmark's database (DBOS's own: the
#: database is fresh), TOAST counted with its table.
_SIZES_SQL = """
SELECT coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
"""


def _sizes(db_url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(_SIZES_SQL).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _asleep(db_url: str, ids: list[str]) -> int:
    """How many of the workflows ``ids`` have recorded their ``DBOS.sleep`` (asleep)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT workflow_uuid) FROM dbos.operation_outputs "
            "WHERE function_name = 'DBOS.sleep' AND workflow_uuid = ANY(%s)", (ids,)).fetchone()
    return int(row[0]) if row else 0


def drop_database(pg_url: str, db: str) -> None:
    _admin(pg_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def serve(pg_url: str, db: str) -> int:
    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(MARK + json.dumps(obj) + "\n")
        sys.stdout.flush()

    _admin(pg_url, f'CREATE DATABASE "{db}"')
    reply({"created": db})
    try:
        from dbos import DBOS

        DBOS(config={"name": "pyworkflow-bench", "system_database_url": with_database(pg_url, db)})

        @DBOS.step()
        def noop_step(i: int) -> int:
            return i

        @DBOS.step()
        def wall_step() -> float:
            return time.time()

        @DBOS.workflow()
        def sequential(n: int) -> int:
            total = 0
            for i in range(n):
                total += noop_step(i)
            return total

        @DBOS.workflow()
        def three_steps() -> int:
            return noop_step(1) + noop_step(2) + noop_step(3)

        @DBOS.workflow()
        def sleep_then_step(seconds: float) -> float:
            due = time.time() + seconds
            DBOS.sleep(seconds)
            return float(wall_step()) - due

        DBOS.launch()
        reply({"ready": True, "pid": os.getpid(), "db": db})
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd["op"]
            t0 = time.perf_counter()
            if op == "quit":
                break
            if op == "warm":
                for _ in range(3):
                    DBOS.start_workflow(sequential, 5).get_result()
                    DBOS.start_workflow(three_steps).get_result()
                reply({"elapsed": time.perf_counter() - t0})
            elif op == "seq":
                DBOS.start_workflow(sequential, int(cmd["n"])).get_result()
                reply({"elapsed": time.perf_counter() - t0})
            elif op == "conc":
                handles = [DBOS.start_workflow(three_steps) for _ in range(int(cmd["count"]))]
                for h in handles:
                    h.get_result()
                reply({"elapsed": time.perf_counter() - t0})
            elif op == "memory":
                # Postgres bytes per run: the growth of DBOS's tables and indexes over
                # ``count`` runs of one kind, measured once every run is done (completed)
                # or asleep (sleeping: ``seconds`` long, then left to wake and end).
                count, db_url = int(cmd["count"]), with_database(pg_url, db)
                table0, index0 = _sizes(db_url)
                if cmd["kind"] == "completed":
                    for h in [DBOS.start_workflow(three_steps) for _ in range(count)]:
                        h.get_result()
                else:
                    ids = [DBOS.start_workflow(sleep_then_step, float(cmd["seconds"]))
                           .get_workflow_id() for _ in range(count)]
                    deadline = time.monotonic() + 300
                    while _asleep(db_url, ids) < count:
                        if time.monotonic() > deadline:
                            raise RuntimeError("DBOS runs not asleep after 300 s")
                        time.sleep(0.2)
                table1, index1 = _sizes(db_url)
                reply({"table": (table1 - table0) / count, "index": (index1 - index0) / count,
                       "elapsed": time.perf_counter() - t0})
            elif op == "timers":
                seconds = float(cmd["seconds"])
                handles = [DBOS.start_workflow(sleep_then_step, seconds)
                           for _ in range(int(cmd["count"]))]
                started = time.perf_counter() - t0
                lateness = [float(h.get_result()) for h in handles]
                reply({"elapsed": time.perf_counter() - t0, "start_s": started,
                       "lateness": lateness})
            else:
                reply({"error": f"unknown op {op!r}"})
        DBOS.destroy()
    finally:
        drop_database(pg_url, db)
        reply({"dropped": db})
    return 0


# -- the parent's handle -----------------------------------------------------------
class DbosPeer:
    """The DBOS child process, seen from ``run.py``."""

    def __init__(self, pg_url: str, log_path: Path) -> None:
        self.pg_url = pg_url
        self.db = f"bench_dbos_{uuid.uuid4().hex[:10]}"
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.pid = 0
        self.created = False
        self.dropped = False
        self.eof = False  # the child closed its stdout: it has exited or is exiting

    def start(self, timeout: float = 120.0) -> None:
        with open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ops.bench.dbos_peer", "serve", "--pg-url", self.pg_url,
                 "--db", self.db],
                cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                start_new_session=True)
        ready = self._read(timeout)
        if "created" in ready:
            self.created = True
            ready = self._read(timeout)
        self.pid = int(ready["pid"])

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.eof = True
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the DBOS process exited ({self.proc.poll()}):\n{tail}")
            if line.startswith(MARK):
                out: dict[str, Any] = json.loads(line[len(MARK):])
                if "error" in out:
                    raise RuntimeError(f"DBOS process: {out['error']}")
                if "dropped" in out:
                    self.dropped = True
                return out
            if time.monotonic() > deadline:  # only checked between lines
                raise RuntimeError(f"the DBOS process did not answer within {timeout:.0f}s")

    def call(self, op: str, timeout: float = 600.0, **args: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._read(timeout)

    def close(self) -> str | None:
        """Stop the child; make sure its database is gone. Returns a note on trouble."""
        note = None
        if self.proc is not None and not self.eof and self.proc.poll() is None:
            try:
                self.call("quit", timeout=60)
            except Exception as exc:  # noqa: BLE001 - report, then make sure
                note = f"DBOS process did not quit cleanly: {exc}"
        if self.proc is not None:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.created and not self.dropped:
            try:
                subprocess.run([sys.executable, "-m", "ops.bench.dbos_peer", "drop",
                                "--pg-url", self.pg_url, "--db", self.db],
                               cwd=REPO, check=True, capture_output=True, timeout=60)
                self.dropped = True
            except Exception as exc:  # noqa: BLE001
                note = f"could not drop database {self.db}: {exc}"
        return note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="DBOS side of the pyworkflow benchmark.")
    p.add_argument("mode", choices=["serve", "drop"])
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    p.add_argument("--db", default=f"bench_dbos_{uuid.uuid4().hex[:10]}")
    args = p.parse_args(argv)
    if not args.db.startswith("bench_dbos_"):
        p.error("only databases named bench_dbos_* are created or dropped")
    if args.mode == "drop":
        drop_database(args.pg_url, args.db)
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        return serve(args.pg_url, args.db)
    return 130


if __name__ == "__main__":
    sys.exit(main())
