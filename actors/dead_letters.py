"""Dead letters: whatever a worker met in a queue or a mailbox and could not use.

A worker must survive any bytes in its queues. Bytes that are not a message (not
JSON, a broken envelope, a task body Celery cannot unpack, an unknown task, a
mailbox entry that is not a valid message, a message addressed to another actor
or one the behaviour refused) are moved here with the reason, and the worker goes
on. Nothing is dropped silently, and nothing poisons the queue it came from.

The store is one capped Redis stream per deployment (key prefix): an entry holds
the queue (or actor) it came from, the reason, the time, the size of what was
read and its first ``RAW_LIMIT`` bytes (enough to recognise it; a 1 GB entry must
not be copied whole). The cap (``MAX_ENTRIES``, approximate trimming) keeps
memory bounded when something floods a queue with garbage.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass
from typing import Any

import redis

#: The stream keeps about this many dead letters (oldest trimmed first).
MAX_ENTRIES = 10_000
#: How many bytes of what was read are kept.
RAW_LIMIT = 64 * 1024


@dataclass(frozen=True)
class DeadLetter:
    """One entry, as an operator sees it."""

    id: str
    at: float
    queue: str
    actor_id: str
    reason: str
    size: int
    raw: str  # the kept prefix, as text (undecodable bytes replaced)

    @property
    def truncated(self) -> bool:
        return self.size > len(self.raw.encode("utf-8", "replace"))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "queue": self.queue, "actor_id": self.actor_id,
                "reason": self.reason, "size": self.size, "truncated": self.truncated,
                "raw": self.raw}


class DeadLetters:
    """Append and read the deployment's dead letters (``GlobalKeys.dead_letters``)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key

    def add(self, reason: str, raw: bytes | str, *, queue: str = "", actor_id: str = "",
            pipe: Any = None) -> None:
        """Record one dead letter; on ``pipe`` when given (sent with the caller's round trip)."""
        data = raw.encode("utf-8", "replace") if isinstance(raw, str) else bytes(raw)
        fields = {"at": repr(time.time()), "queue": queue, "actor_id": actor_id,
                  "reason": reason, "size": str(len(data)), "raw": data[:RAW_LIMIT]}
        target = self._client if pipe is None else pipe
        target.xadd(self._key, fields, maxlen=MAX_ENTRIES, approximate=True)  # type: ignore[arg-type]

    def list(self, limit: int = 100, queue: str | None = None,
             actor_id: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (oldest first), optionally of one queue or actor."""
        return [d.as_dict() for d in self.entries(limit, queue, actor_id)]

    def entries(self, limit: int = 100, queue: str | None = None,
                actor_id: str | None = None) -> builtins.list[DeadLetter]:
        found: builtins.list[DeadLetter] = []
        last = "+"
        while len(found) < limit:
            batch = self._client.xrevrange(self._key, last, "-", count=500)
            if not batch:
                break
            for entry_id, fields in batch:
                letter = _letter(entry_id, fields or {})
                if (queue is None or letter.queue == queue) and (
                        actor_id is None or letter.actor_id == actor_id):
                    found.append(letter)
                    if len(found) == limit:
                        break
            last = "(" + _text(batch[-1][0])
        found.reverse()
        return found

    def count(self) -> int:
        return int(self._client.xlen(self._key))


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _letter(entry_id: Any, fields: dict[Any, Any]) -> DeadLetter:
    get = {_text(k): v for k, v in fields.items()}.get
    return DeadLetter(id=_text(entry_id), at=float(_text(get("at", b"0"))),
                      queue=_text(get("queue", b"")), actor_id=_text(get("actor_id", b"")),
                      reason=_text(get("reason", b"")), size=int(_text(get("size", b"0"))),
                      raw=_text(get("raw", b"")))
