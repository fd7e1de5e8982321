"""The event: one fact an actor's turn decided, and, once committed, read back.

Pure data, no I/O: a behaviour (and whatever engine stands behind one) imports it
without loading the Redis client. How an event is stored in the actor's stream
(``NewEvent.encode``, ``journal.decode_entry``) is the journal's business.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One committed fact about an actor. ``msg_id`` names the message that caused it."""

    seq: int
    type: str
    data: dict[str, Any]
    ts: float
    msg_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "data": self.data, "ts": self.ts,
                "msg_id": self.msg_id}


@dataclass
class NewEvent:
    """An event decided by a turn but not yet committed (it has no seq yet)."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    msg_id: str | None = None
    ts: float = field(default_factory=time.time)

    def encode(self) -> str:
        return json.dumps({"t": self.type, "d": self.data, "ts": self.ts, "m": self.msg_id},
                          separators=(",", ":"))
