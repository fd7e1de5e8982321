"""The message: the only thing that ever enters an actor's mailbox.

One frozen dataclass with one wire format (JSON), so what a sender writes and what
a turn reads are decided in one place. Decoding is strict and total: anything that is not a
well-formed message raises :class:`MalformedMessage` (never another exception, for
any bytes), and the turn sets it aside.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


class MalformedMessage(ValueError):
    """A mailbox entry that is not a valid message; it goes to the dead letters."""


def new_msg_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Message:
    """A JSON message for one actor. ``msg_id`` makes redeliveries detectable."""

    kind: str
    actor_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    msg_id: str = field(default_factory=new_msg_id)
    sent_at: float = field(default_factory=time.time)

    def encode(self) -> str:
        return json.dumps(
            {"msg_id": self.msg_id, "kind": self.kind, "actor_id": self.actor_id,
             "payload": self.payload, "sent_at": self.sent_at},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: str | bytes) -> Message:
        try:
            data = json.loads(raw)
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
            raise MalformedMessage(f"not JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
        if not isinstance(data, dict):
            raise MalformedMessage("not a JSON object")
        missing = [k for k in ("msg_id", "kind", "actor_id", "payload", "sent_at") if k not in data]
        if missing:
            raise MalformedMessage(f"missing fields: {', '.join(missing)}")
        if not isinstance(data["msg_id"], str) or not data["msg_id"]:
            raise MalformedMessage("msg_id must be a non-empty string")
        if not isinstance(data["kind"], str) or not isinstance(data["actor_id"], str):
            raise MalformedMessage("kind and actor_id must be strings")
        if not isinstance(data["payload"], dict):
            raise MalformedMessage("payload must be a JSON object")
        if not isinstance(data["sent_at"], int | float) or isinstance(data["sent_at"], bool):
            raise MalformedMessage("sent_at must be a number")
        try:
            sent_at = float(data["sent_at"])
        except OverflowError:
            raise MalformedMessage("sent_at is out of range") from None
        return cls(kind=data["kind"], actor_id=data["actor_id"], payload=data["payload"],
                   msg_id=data["msg_id"], sent_at=sent_at)
