"""Keeps the leases of the turns running in this process alive.

A lease must outlive a slow handler (a behaviour may legitimately take longer
than the lease to handle one batch) yet expire quickly when the process dies. One
thread per process renews every running turn's lease a few times per lease
period; when the process is killed the renewals stop and recovery takes over.

It renews the lease only, never the actor's entry in the lease index. The turn
itself moves that entry forward at every round trip, and recovery, finding an
entry whose lease still runs, reschedules it to the lease's end. A renewal written
to the index from this thread raced with the turn's end: when it landed between
the turn's release and its ``unindex`` (which removes the entry only if nobody
touched it), the entry of an idle actor stayed behind, and five seconds later
recovery "took over" an actor nobody had lost (the benchmark's "actor taken over
after its lease expired" under plain load: one spurious turn, and a log line that
cries wolf).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

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
                def build(pipe: Any, held: list[tuple[str, str]] = held) -> None:
                    for actor_id, token in held:
                        system.scripts.call_in(pipe, "renew",
                                               [system.actor_keys(actor_id).activation],
                                               [token, system.lease_ms])

                results = system.scripts.pipeline(build)
                for (actor_id, token), ok in zip(held, results, strict=True):
                    with self._lock:
                        still_held = self._held.get(actor_id) == token
                    if not ok and still_held:  # else the turn just ended: nothing to renew
                        logger.warning("lease could not be renewed", actor_id=actor_id)
            except Exception as exc:
                logger.warning("lease renewal failed; retrying", error=str(exc))
