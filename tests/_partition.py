"""A network partition for integration tests: a worker in its own network namespace.

The links and the partition itself (``Link``, ``Partition``, ``partition``,
``unshare_available``) are ``ops/chaos/partition.py``, shared with the chaos run;
this module adds ``IsolatedWorker``, a test worker (``tests/_workers.Worker``)
started under ``unshare -rn`` so it reaches Redis and the broker only through a
``Partition``'s links.
"""

from __future__ import annotations

import os
import subprocess

from ops.chaos.partition import unshare_prefix
from tests._workers import PYWORKFLOW, REPO, Worker


class IsolatedWorker(Worker):
    """A ``pyworkflow worker run`` in its own network namespace (``unshare -rn``),
    reaching Redis and the broker only through a ``Partition``'s links."""

    def start(self, wait: bool = True) -> IsolatedWorker:
        env = {**os.environ, "PYWORKFLOW_LOG_FORMAT": "json", **self.extra_env}
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*unshare_prefix(), PYWORKFLOW, "--module", self.module, "worker", "run",
             "--pool", self.pool, "--concurrency", str(self.concurrency), "--loglevel",
             "INFO", "--hostname", f"{self.name}-{os.getpid()}@%h"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready()
        return self
