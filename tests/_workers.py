"""Real ``pyworkflow worker run`` processes for integration tests."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PYWORKFLOW = str(Path(sys.executable).with_name("pyworkflow"))
REPO = Path(__file__).resolve().parent.parent


def may_start_workers() -> bool:
    """Whether the running test is marked ``workers``; tests/conftest.py sets this
    before each test (outside pytest every start is allowed)."""
    return True


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Worker:
    """One worker process (its own process group, so SIGKILL takes its children too)."""

    def __init__(self, module: str, log_dir: Path, name: str, pool: str = "prefork",
                 concurrency: int = 2, extra_env: dict[str, str] | None = None,
                 queues: str | None = None) -> None:
        self.module = module
        #: ``worker run --queues`` (None: the default queue)
        self.queues = queues
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.pool = pool
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def hostname(self) -> str:
        """The Celery node name, for control commands sent to this worker only: other
        test sessions' workers share the broker (and Celery's broadcast exchange)."""
        return f"{self.name}-{os.getpid()}@{socket.gethostname()}"

    #: what the worker's command runs under (``tests/_partition.IsolatedWorker``: its own
    #: network namespace)
    command_prefix: tuple[str, ...] = ()
    #: more ``worker run`` options, after the others (``--import-beat APP``)
    run_options: tuple[str, ...] = ()

    def start(self, wait: bool = True) -> Worker:
        if not may_start_workers():
            raise AssertionError("this test starts workers: mark it "
                                 "@pytest.mark.workers (see tests/conftest.py)")
        env = {**os.environ, "PYWORKFLOW_LOG_FORMAT": "json", **self.extra_env}
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*self.command_prefix, PYWORKFLOW, "--module", self.module, "worker", "run",
             "--pool", self.pool,
             "--concurrency", str(self.concurrency), "--loglevel", "INFO",
             "--hostname", f"{self.name}-{os.getpid()}@%h",
             *(["--queues", self.queues] if self.queues else []), *self.run_options],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready()
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log_text()[-3000:]}")
            return " ready." in self.log_text() or "ready.\"" in self.log_text()

        wait_for(ready, timeout, 0.1, f"worker {self.name} to be ready")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the worker and all its children, as a crashed machine would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not exit in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextlib.contextmanager
def worker_pool(module: str, log_dir: Path, name: str, count: int = 2, pool: str = "prefork",
                concurrency: int = 2, queues: str | None = None) -> Iterator[list[Worker]]:
    """``count`` workers serving ``module`` (on ``queues``: ``worker run --queues``),
    started together and stopped (SIGTERM) after; the module is imported here too, since
    tests start runs from this process."""
    workers = [Worker(module, log_dir, f"{name}{i}", pool=pool, concurrency=concurrency,
                      queues=queues).start(wait=False) for i in range(count)]
    try:
        for w in workers:
            w.wait_ready()
        importlib.import_module(module)
        yield workers
    finally:
        for w in workers:
            w.stop()
