"""The engine's ports on a worker: hook records and run indexes in Redis.

The engine (``pyworkflow.engine``) does no I/O; a worker's runtime hands it these
stores (see ``_runtime``), tests and in-process runs the in-memory ones of
``engine.ports``.
"""

from __future__ import annotations

import json
from typing import Any

import actors

from . import keys
from .engine.ports import HookMove


class RedisHookStore:
    """Through ``hook_store``, which reaches Redis by ``runtime()``: imported at the
    call, since the runtime builds this store while it is being built itself."""

    def record(self, token: str, run_id: str, call_id: int, name: str,
               expires_at_ms: int | None, shielded: bool) -> None:
        from . import hook_store

        hook_store.record(token, run_id, call_id, name, expires_at_ms, shielded)

    def settle(self, token: str, to: str) -> HookMove:
        from . import hook_store

        move = hook_store.transition(token, to)
        return HookMove(move.moved, move.status, move.payload)


class RedisRunStore:
    def __init__(self, client: Any, prefix: str, system: actors.ActorSystem) -> None:
        self._client = client
        self._prefix = prefix
        self._system = system

    def index(self, run_id: str, created_at: float) -> None:
        self._client.zadd(keys.runs_index(self._prefix), {run_id: created_at})

    def masked(self, run_id: str) -> set[int]:
        raw = self._client.hget(self._system.actor_keys(run_id).record, "masked")
        return set(json.loads(raw)) if raw else set()
