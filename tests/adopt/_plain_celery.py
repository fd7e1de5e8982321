"""A plain ``celery worker`` process (no pyworkflow), for tests that show what Celery
itself does beside the durable path: same tasks module, its own Redis database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._workers import REPO, wait_for

APP = "tests.adopt.chord_tasks:chord_app"


def point_app_at(app: Any, url: str) -> None:
    """Send and read results through ``url`` from now on: Celery caches its connection
    pool and result backend per app, so a test that moved to another Redis must drop
    them, or it keeps talking to the one an earlier test stopped."""
    detach(app)
    app.conf.update(broker_url=url, result_backend=url)


def detach(app: Any) -> None:
    """Close the app's connections and its result backend's subscriber before the Redis
    they talk to stops (else the subscriber keeps reconnecting, and gives up loudly,
    during the tests that follow)."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    backend = app._local.__dict__.pop("backend", None)
    consumer = getattr(backend, "result_consumer", None)
    if consumer is not None:
        consumer.stop()
        consumer._pubsub = None


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
