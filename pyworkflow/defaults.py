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
#: How long a dispatched attempt may wait unclaimed before it counts as lost in transit
#: (e.g. a message the broker handed out as Redis restarted): its run sends it again,
#: under the same attempt and task id. The step leases' watch
#: (``worker/step_leases``) and a handed-back attempt's (``worker/hand_back``) use it too.
QUEUED_WATCH_MS = 60_000
#: ... and how soon it is first looked at where the queues' backlog can be read
#: (``Ports.dispatch_watch_ms``): an attempt not started by then is sent again only if
#: no step queue holds anything (it is nowhere a worker will take it from: lost on its
#: way, e.g. its worker SIGKILLed between the broker's pop and its ``unacked`` write);
#: behind a backlog its watch looks again after as long.
DISPATCH_CHECK_MS = 10_000
