"""A plain ``celery worker`` process (no pyworkflow), for tests that show what Celery
itself does beside the durable path: same tasks module, its own Redis database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests._workers import REPO, wait_for

APP = "tests.adopt.chord_tasks:chord_app"


class PlainCeleryWorker:
    """``celery -A tests.adopt.chord_tasks:chord_app worker``, in its own process group."""

    def __init__(self, broker_url: str, log_dir: Path, name: str) -> None:
        self.broker_url = broker_url
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PlainCeleryWorker:
        env = {**os.environ, "ADOPT_CELERY_URL": self.broker_url}
        log = open(self.log_path, "ab")  # noqa: SIM115  (the process writes it)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", APP, "worker", "-P", "prefork", "-c", "2",
             "-l", "INFO", "-n", f"{self.name}-{os.getpid()}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._ready, 30, 0.1, f"plain celery worker {self.name}")
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"celery worker exited:\n{self.log_text()[-3000:]}")
        return " ready." in self.log_text()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
