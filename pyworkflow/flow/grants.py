"""Delivering a granted slot to the one that waited for it, and counting the wait.

A run that waited gets a ``slot-granted`` message (its id is fixed per run, so a grant
sent twice, by a release and by a sweep, is one); a step attempt that waited gets its
task again, watched by the step-lease index as every dispatched attempt is (a task the
broker loses is noticed and sent again by its run). The grant itself was made in the
release script, so delivering it twice is harmless and delivering it never is caught
by the sweep (a run's grant) or by the step lease's watch (a step's).
"""

from __future__ import annotations

import json
import time
from typing import Any

from actors import log as _log
from actors.effects import EnqueueTask

from .. import ids, keys
from ..defaults import QUEUED_WATCH_MS
from ..worker.counter_buffer import buffer_for
from .slots import Grant

logger = _log.get_logger("pyworkflow.flow")

#: Histogram bounds (seconds) of how long a run or step waited for its slot.
WAIT_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 3600.0, float("inf"))


def step_payload(task_kwargs: dict[str, Any], queue: str | None) -> str:
    """What a waiting step attempt keeps with its place: its task, and the queue."""
    return json.dumps({"task": task_kwargs, "queue": queue})


def run_payload(run_id: str) -> str:
    return json.dumps({"run_id": run_id})


def deliver(system: Any, prefix: str, limit: str, key: str, grants: list[Grant],
            step_lease_key: str) -> None:
    for grant in grants:
        try:
            data = json.loads(grant.payload) if grant.payload else {}
        except ValueError:
            data = {}
        count_wait(system.redis, prefix, limit, grant.since_ms)
        if "run_id" in data:
            run_id = str(data["run_id"])
            system.send(run_id, "slot-granted", {"limit": limit, "key": key},
                        ids.slot_granted_message_id(run_id))
        elif "task" in data:
            task = data["task"]
            run_id, call_id, attempt = task["run_id"], task["call_id"], task["attempt"]
            system.dispatch_one(EnqueueTask(
                name=ids.STEP_TASK, task_id=ids.step_task_id(run_id, call_id, attempt),
                kwargs=task, queue=data.get("queue"), watch_key=step_lease_key,
                watch_member=ids.step_attempt(run_id, call_id, attempt),
                watch_ms=QUEUED_WATCH_MS))
        else:
            logger.warning("a slot grant with nothing to deliver", holder=grant.holder,
                           limit=limit, key=key)


def count_wait(redis: Any, prefix: str, limit: str, since_ms: int) -> None:
    """``pyworkflow_slot_wait_seconds``: one wait, from its arrival to its grant."""
    if not since_ms:
        return
    seconds = max(0.0, time.time() - since_ms / 1000)
    ints = {f"wait_bucket|{limit}|{_le(b)}": 1 for b in WAIT_BUCKETS if seconds <= b}
    buffer_for(redis).add(keys.flow_metrics(prefix), ints, {f"wait_seconds|{limit}": seconds})


def count_rate_limited(redis: Any, prefix: str, step: str) -> None:
    """``pyworkflow_rate_limited_total``: one attempt deferred by its step's rate limit."""
    buffer_for(redis).add(keys.flow_metrics(prefix), {f"rate_limited|{step}": 1}, {})


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
