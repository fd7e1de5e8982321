"""The sweep: what keeps a slot from leaking, run by every worker's maintenance loop.

It visits the limit keys whose soonest lease has expired (``keys.slot_index``), a few
at a time. ``slot_release.lua`` drops the dead step attempts' slots there and grants
what it frees; each expired run slot is checked against its run: a run that has ended
(or is gone) lets its slot go, a granted run that never took its slot is sent the grant
again, and a run still going keeps its slot for another lease. A slot therefore
outlives its holder by one lease at most, plus the sweep's period (about a second).
"""

from __future__ import annotations

import time
from typing import Any

from actors import log as _log

from .. import ids, keys
from ..run_info import TERMINAL_STATUSES
from . import grants
from .slots import RUN_SLOT_LEASE_MS, Slots, from_index_member

logger = _log.get_logger("pyworkflow.flow.sweep")

#: Limit keys read from the index at a time, and how long one sweep may go on (the
#: maintenance loop's other jobs wait meanwhile); another worker's sweep shares the rest.
BATCH = 50
BUDGET_S = 0.25


class SlotSweeper:
    def __init__(self, system: Any, slots: Slots, step_lease_key: str) -> None:
        self._system = system
        self._slots = slots
        self._step_lease_key = step_lease_key

    def sweep(self) -> int:
        """Visit the limit keys that are due, ``BATCH`` at a time for at most
        ``BUDGET_S``; how many were visited."""
        redis = self._slots.redis
        visited = 0
        ends = time.monotonic() + BUDGET_S
        while time.monotonic() < ends:
            due = redis.zrangebyscore(self._slots.index, "-inf", time.time() * 1000,
                                      start=0, num=BATCH)
            for raw in due:
                limit, key = from_index_member(raw.decode() if isinstance(raw, bytes) else raw)
                try:
                    self.visit(limit, key)
                except Exception as exc:  # the next sweep tries again
                    logger.warning("slot sweep failed", limit=limit, key=key, error=str(exc))
            visited += len(due)
            if len(due) < BATCH:
                break
        return visited

    def visit(self, limit: str, key: str) -> None:
        prefix = self._slots.prefix
        out = self._slots.release(limit, key, "", reindex=True)
        grants.deliver(self._system, prefix, limit, key, out.grants, self._step_lease_key)
        if not out.expired_runs:
            return
        redis = self._slots.redis
        payloads = keys.slot_keys(prefix, limit, key)[2]
        pipe = redis.pipeline(transaction=False)
        for holder in out.expired_runs:
            pipe.hget(self._system.actor_keys(holder[len("run:"):]).record, "status")
            pipe.hexists(payloads, holder)
        replies = pipe.execute()
        keep = []
        for i, holder in enumerate(out.expired_runs):
            status, granted = replies[2 * i], replies[2 * i + 1]
            text = status.decode() if isinstance(status, bytes) else status
            if text is None or text in TERMINAL_STATUSES:
                logger.info("a run's slot outlived it; let go", holder=holder, limit=limit,
                            key=key)
                freed = self._slots.release(limit, key, holder)
                grants.deliver(self._system, prefix, limit, key, freed.grants,
                               self._step_lease_key)
                continue
            keep.append(holder)
            if granted:  # granted, never taken: the grant again (same message id)
                run_id = holder[len("run:"):]
                self._system.send(run_id, "slot-granted", {"limit": limit, "key": key},
                                  ids.slot_granted_message_id(run_id))
        if keep:
            self._slots.renew(limit, key, keep, RUN_SLOT_LEASE_MS)
            self._slots.reindex(limit, key)
