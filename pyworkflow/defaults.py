"""Every configuration default, written once.

``config.Settings`` (what a deployment resolves from files and the environment) and
the engine's ports (``engine/ports.py``, what a run is handed) both start from these.
A module of constants only: the pure engine may import it.
"""

from __future__ import annotations

#: Redis (and, unless configured apart, the broker): the local server.
REDIS_URL = "redis://127.0.0.1:6379/0"
#: Every Redis key, queue and task name of a deployment starts with this.
KEY_PREFIX = "pyworkflow"
#: ``auto``: console lines on a terminal, JSON otherwise.
LOG_FORMAT = "auto"
#: The folder for the embedded Redis and local runs, relative to the working directory.
DATA_DIR_NAME = ".pyworkflow"
#: How long an idempotency key is kept after its run ends, in seconds.
IDEMPOTENCY_RETENTION_S = 24 * 3600.0
#: How long a finished run is kept before it is purged, in seconds (None: forever).
RUN_RETENTION_S: float | None = 30 * 86400.0
#: A run's journal size that records a warning, and the size that parks it (0: never).
HISTORY_WARN_EVENTS = 10_000
HISTORY_LIMIT_EVENTS = 50_000
