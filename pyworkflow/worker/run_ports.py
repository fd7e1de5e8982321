"""The engine's run port on a worker: the runs index and masked journal positions in
Redis (the hook port is ``hook_store.HookStore``).

The engine (``pyworkflow.engine``) does no I/O; a worker's runtime hands it these
stores (see ``_runtime``), tests and in-process runs the in-memory ones of
``engine.ports``.
"""

from __future__ import annotations

import json
from typing import Any

import actors

from .. import keys


class RedisRunStore:
    def __init__(self, client: Any, prefix: str, system: actors.ActorSystem) -> None:
        self._client = client
        self._prefix = prefix
        self._system = system

    def index(self, run_id: str, created_at: float) -> None:
        self._client.zadd(keys.runs_index(self._prefix), {run_id: created_at})

    def expire(self, run_id: str, at: float) -> None:
        # Called by a turn before its commit: sent in the commit's round trip, ahead of it.
        index = keys.runs_purge_index(self._prefix)
        actors.ride_on_commit(lambda pipe: pipe.zadd(index, {run_id: at}))

    def masked(self, run_id: str) -> set[int]:
        raw = self._client.hget(self._system.actor_keys(run_id).record, "masked")
        return set(json.loads(raw)) if raw else set()
