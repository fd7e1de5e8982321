"""Dead letters: mailbox entries no behaviour could accept, kept for an operator.

A malformed or rejected message must not stop its actor nor vanish: it is moved
here with the reason, and can be listed (``DeadLetters.list``) and inspected.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis


class DeadLetters:
    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key

    def add(self, actor_id: str, reason: str, raw: bytes | str) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        entry = {"actor_id": actor_id, "reason": reason, "raw": text, "at": time.time()}
        self._client.rpush(self._key, json.dumps(entry))

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self._client.lrange(self._key, 0, limit - 1)]

    def count(self) -> int:
        return int(self._client.llen(self._key))
