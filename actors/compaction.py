"""Sealing journals in the background: what a process does with ``compact_journal``.

A turn whose actor will wait long or has ended says so (``TurnContext.compact_journal``);
after its commit the process notes the actor here, and a thread of the process seals
the noted journals a moment later, in batches: one pipelined read of their journals,
compression in Python (``sealed.encode``), one pipeline of ``seal.lua`` calls. Never on
a turn's path, so a step costs what it did.

Nothing depends on a seal happening: a note lost with its process (killed before the
pass) leaves a journal that is a stream, which every reader reads as before and which
retention purges as before; the actor's next settle notes it again. A seal never loses
an event: it writes only if the journal still ends where the read ended (a turn that
committed meanwhile makes it write nothing; the next seal folds that in).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from . import log as _log
from . import sealed

if TYPE_CHECKING:
    from .system import ActorSystem

logger = _log.get_logger("actors.compaction")

#: How often the thread looks at its notes.
PASS_EVERY_S = 0.2
#: How long a noted actor waits before its seal, at least: the turn that noted it has
#: long released it (its release may depend on the commit's id, which an ended actor's
#: seal deletes), and the notes of a burst go in one pass.
SEAL_AFTER_S = 1.0
#: Journals sealed per pipelined pass.
PASS_SIZE = 200
#: ... read, compressed and written this many at a time, and the thread lets the others
#: of its process run between two journals it compresses (``time.sleep(0)`` gives up the
#: interpreter lock): a pass over 200 journals held it for tens of ms at a stretch, each
#: time a timer runner or a task of the process wanted it back (up to the interpreter's
#: 5 ms switch interval per hand-back), and a burst of wake-ups right after a burst of
#: runs ended (the bench's timers after its concurrent runs) came 20 ms late at p99.
SEAL_CHUNK = 20
#: While its timer runners wake runs (``defer``), a process seals nothing: a burst of
#: wake-ups (10,000 runs due within seconds) is work that is late, and sealing the runs
#: it ends took a quarter of the CPU the burst needed (10,000 sleepers, p99 77-706 ms
#: as the burst came faster or slower than the two processes could serve). The notes
#: wait, at most ``MAX_DEFER_S`` after the oldest was made.
DEFER_S = 0.5
MAX_DEFER_S = 30.0
#: Notes kept at most (beyond this, new notes are dropped: memory stays bounded, and
#: those journals stay streams until their actor settles again).
MAX_NOTED = 20_000
#: Journals longer than this stay streams: sealing one would make every read of it
#: decompress it whole, and every seal recompress it.
MAX_EVENTS = 2_000


class Compactor:
    """The noted actors of one process (actor id -> (when noted, the seq it ended at or
    0)) and the thread that seals their journals."""

    def __init__(self, system: ActorSystem) -> None:
        self._system = system
        self._noted: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        #: no pass before this (monotonic), unless a note is ``MAX_DEFER_S`` old
        self._deferred_until = 0.0

    def note(self, actor_id: str, ended_at: int = 0) -> None:
        """Seal ``actor_id``'s journal soon; ``ended_at``: the seq its last commit ended it
        at (0: it waits), so the seal also drops what only a live actor needs, if nothing
        came after the end."""
        with self._lock:
            if len(self._noted) >= MAX_NOTED and actor_id not in self._noted:
                return
            self._noted[actor_id] = (time.monotonic(), ended_at)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="actors-compaction")
                self._thread.start()

    def defer(self, seconds: float = DEFER_S) -> None:
        """Latency-bound work is under way in this process (a timer runner's pass that
        found timers due): seal nothing for ``seconds`` more."""
        self._deferred_until = max(self._deferred_until, time.monotonic() + seconds)

    def _deferred(self) -> bool:
        now = time.monotonic()
        if now >= self._deferred_until:
            return False
        with self._lock:
            oldest = min((at for at, _ in self._noted.values()), default=now)
        return now - oldest < MAX_DEFER_S

    def flush(self, older_than: float = 0.0, background: bool = False) -> int:
        """Seal the journals noted at least ``older_than`` seconds ago (every one: 0);
        returns how many were sealed. ``background``: stop when a ``defer`` comes."""
        done = 0
        while not (background and self._deferred()):
            now = time.monotonic()
            with self._lock:
                batch = {actor_id: ended_at for actor_id, (at, ended_at) in self._noted.items()
                         if now - at >= older_than}
                batch = dict(list(batch.items())[:PASS_SIZE])
                for actor_id in batch:
                    del self._noted[actor_id]
            if not batch:
                return done
            items = list(batch.items())
            for i in range(0, len(items), SEAL_CHUNK):
                done += seal(self._system, dict(items[i:i + SEAL_CHUNK]))
                time.sleep(0)
        return done

    def _loop(self) -> None:
        while True:
            self._wake.wait(PASS_EVERY_S)
            try:
                self.flush(SEAL_AFTER_S, background=True)
            except Exception as exc:  # Redis away: those journals stay streams for now
                logger.warning("sealing journals failed", error=f"{type(exc).__name__}: {exc}")


def seal(system: ActorSystem, actors: dict[str, int]) -> int:
    """Seal the journals of ``actors`` (id -> the seq it ended at, or 0) in two round trips;
    returns how many were sealed (a journal that moved on meanwhile, or is too long, is
    left as it is)."""
    ids = list(actors)
    pipe = system.redis.pipeline(transaction=False)
    for actor_id in ids:
        keys = system.actor_keys(actor_id)
        pipe.get(keys.sealed)
        pipe.xrange(keys.journal, count=MAX_EVENTS + 1)
    replies = pipe.execute()
    todo: list[tuple[str, int, bytes, int]] = []
    for i, actor_id in enumerate(ids):
        raw, entries = replies[2 * i], replies[2 * i + 1]
        if not entries or len(entries) > MAX_EVENTS:
            continue  # sealed already with nothing after it, gone, or too long
        prefix = sealed.events_of(raw, actor_id)
        events = sealed.merge(raw, entries, actor_id)
        # Whole, from the first event on, without a gap: else the read crossed another
        # process's seal of the same journal (the script below would refuse it too).
        if len(events) > MAX_EVENTS or [e.seq for e in events] != list(
                range(1, len(events) + 1)):
            continue
        dict_id = system.behaviour_for(actor_id).journal_dictionary
        todo.append((actor_id, events[-1].seq, sealed.encode(events, actor_id, dict_id),
                     prefix[-1].seq if prefix else 0))
        time.sleep(0)  # the others of this process may want the interpreter meanwhile
    if not todo:
        return 0

    def build(pipe: Any) -> None:
        for actor_id, last, value, was_sealed in todo:
            keys = system.actor_keys(actor_id)
            system.scripts.call_in(pipe, "seal", [keys.journal, keys.sealed, keys.meta,
                                                  keys.seen],
                                   [last, value, actors[actor_id], was_sealed])

    return sum(1 for r in system.scripts.pipeline(build) if r == 1)
