"""Retention: finished runs are purged, so Redis memory stays bounded.

When a run ends, the engine schedules its purge (``purge_at``: its workflow's
``retention`` option, else the ``run_retention`` setting, 30 days by default; ``None``
keeps it forever) in a sorted set (``keys.runs_purge_index``). Every worker's
maintenance loop runs :meth:`RunRetention.sweep` about once a second: it purges the
few runs that are due, in small batches, so turn latency is not affected, and a run
is gone within seconds of its expiry.

Purging deletes every key of the run (journal, record, mailbox leftovers, its
hooks and their index entries, its runs-index entry, its idempotency key if it still
names the run, its app log). A parent's journal keeps its children's final results: it recorded
them. A run whose turn is running, or whose record does not say it ended (a commit
that failed after scheduling the purge), is not purged: it is looked at again later.
"""

from __future__ import annotations

import time
from typing import Any

import actors

from .. import keys
from ..run_info import TERMINAL_STATUSES
from ._scripts import script
from .idempotency import release_args

#: How many runs one sweep purges at most.
SWEEP_BATCH = 50
#: How long a due run that could not be purged yet waits before the next look.
RETRY_LATER_S = 60.0


class RunRetention:
    def __init__(self, client: Any, prefix: str, system: actors.ActorSystem) -> None:
        self._client = client
        self._prefix = prefix
        self._system = system

    def due(self, now: float | None = None, limit: int = SWEEP_BATCH) -> list[str]:
        now = time.time() if now is None else now
        raw = self._client.zrangebyscore(keys.runs_purge_index(self._prefix), "-inf", now,
                                         start=0, num=limit)
        return [r.decode() for r in raw]

    def sweep(self, now: float | None = None) -> int:
        """Purge the runs due now; how many were purged."""
        purged = 0
        for run_id in self.due(now):
            if self.purge(run_id):
                purged += 1
        return purged

    def purge(self, run_id: str, force: bool = False) -> bool:
        """Delete every key of a finished run; False (nothing deleted) if it has not
        ended or a turn holds it. ``force`` (an operator's ``runs purge``) purges a
        finished run whatever its ``purge_at``."""
        record = self._client.hgetall(self._system.actor_keys(run_id).record)
        status = record.get(b"status", b"").decode()
        purge_index = keys.runs_purge_index(self._prefix)
        if record and status not in TERMINAL_STATUSES:
            self._client.zrem(purge_index, run_id)  # not ended: its end schedules it again
            return False
        if not self._system.forget(run_id):
            self._client.zadd(purge_index, {run_id: time.time() + RETRY_LATER_S})
            return False
        self._forget_hooks(run_id)
        key = record.get(b"idempotency_key")
        if key:
            lkeys, largs = release_args(self._prefix, key.decode(), run_id)
            script(self._client, "idempotency_release")(keys=lkeys, args=largs)
        pipe = self._client.pipeline(transaction=False)
        pipe.zrem(keys.runs_index(self._prefix), run_id)
        pipe.zrem(purge_index, run_id)
        pipe.delete(keys.run_app_log(self._prefix, run_id),
                    keys.step_starts(self._prefix, run_id))
        pipe.execute()
        return True

    def _forget_hooks(self, run_id: str) -> None:
        tokens_key = keys.run_hooks(self._prefix, run_id)
        tokens = [t.decode() for t in self._client.smembers(tokens_key)]
        pipe = self._client.pipeline(transaction=False)
        for token in tokens:
            pipe.delete(keys.hook(self._prefix, token))
        if tokens:
            pipe.zrem(keys.hooks_index(self._prefix), *tokens)
        pipe.delete(tokens_key)
        pipe.execute()

    def past_retention(self, now: float | None = None) -> int:
        """How many finished runs are due for purging (``setup --check``)."""
        now = time.time() if now is None else now
        return int(self._client.zcount(keys.runs_purge_index(self._prefix), "-inf", now))
