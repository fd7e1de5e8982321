"""Keeps the leases of the turns running in this process alive.

A lease must outlive a slow handler (a behaviour may legitimately take longer
than the lease to handle one batch) yet expire quickly when the process dies. One
thread per process renews every running turn's lease a few times per lease
period; when the process is killed the renewals stop and recovery takes over.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from . import log as _log

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.lease")


class LeaseKeeper:
    def __init__(self, system: ActorSystem) -> None:
        self._system = system
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, actor_id: str, token: str) -> None:
        with self._lock:
            self._held[actor_id] = token
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="actors-leases",
                                                daemon=True)
                self._thread.start()

    def drop(self, actor_id: str) -> None:
        with self._lock:
            self._held.pop(actor_id, None)

    def _loop(self) -> None:
        system = self._system
        interval = system.lease_ms / 1000 / 3
        stop = threading.Event()
        while not stop.wait(interval):
            with self._lock:
                held = list(self._held.items())
            if not held:
                continue
            try:
                pipe = system.redis.pipeline(transaction=False)
                for actor_id, token in held:
                    keys = system.actor_keys(actor_id)
                    system.scripts.renew(keys=[keys.activation], args=[token, system.lease_ms],
                                         client=pipe)
                    pipe.zadd(system.keys.lease_index, {actor_id: system.lease_score()})
                results = pipe.execute()
                for (actor_id, token), ok in zip(held, results[::2], strict=True):
                    with self._lock:
                        still_held = self._held.get(actor_id) == token
                    if not ok and still_held:  # else the turn just ended: nothing to renew
                        logger.warning("lease could not be renewed", actor_id=actor_id)
            except Exception as exc:
                logger.warning("lease renewal failed; retrying", error=str(exc))
