"""The runtime of the in-process profiles (``profile_steps.py``, ``profile_wakes.py``).

A runtime under a key prefix of its own whose Celery tasks are queued here, to be
run by the profile itself (their registered bodies, in order) instead of by a
worker; each is still published to the broker, to a queue nobody reads, unless
``publish`` is off, so a profile includes the cost of the publish.
"""

from __future__ import annotations

import collections
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

Task = tuple[str, list[Any], dict[str, Any]]


def profiled_runtime(name: str, publish: bool) -> tuple[Any, collections.deque[Task], str]:
    """(runtime, the queue of tasks it sent, its key prefix); Redis round trips are
    counted from here on (``_iotrace``)."""
    prefix = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    os.environ["PYWORKFLOW_KEY_PREFIX"] = prefix
    os.environ.setdefault("PYWORKFLOW_LOG_FORMAT", "json")
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))

    from ops.bench import _iotrace
    from pyworkflow.worker import _runtime

    rt = _runtime.runtime()
    logging.getLogger().setLevel(logging.WARNING)  # no per-task log lines in a profile
    _iotrace.install()
    queue: collections.deque[Task] = collections.deque()

    def enqueue(task_name: str, task_args: list[Any], kwargs: dict[str, Any],
                task_id: str | None, queue_name: str | None,
                priority: int | None = None) -> None:
        if publish:
            # As the worker's own sender (actors.worker) does: no reprs of the arguments.
            options: dict[str, Any] = {"argsrepr": "", "kwargsrepr": ""}
            if queue_name:
                options["queue"] = queue_name
            if priority is not None:
                options["priority"] = priority
            rt.celery.send_task(task_name, args=task_args, kwargs=kwargs, task_id=task_id,
                                **options)
        queue.append((task_name, task_args, kwargs))

    rt.system.set_enqueue(enqueue)
    return rt, queue, prefix
