"""Durable timers: a Redis sorted set, claimed atomically by whichever worker gets there.

A timer is a message to deliver at or after a due time. It lives only in Redis, so
a sleep of 30 days survives every worker and broker restart; no Celery ETA or
countdown is involved. Due times are read against the Redis server's clock (the
scripts call ``TIME``), so workers with skewed clocks never fire a timer early.
Delivery is at least once (a claim whose worker died expires and is retried); the
delivered message's ``msg_id`` is the timer id, so the receiving actor drops a
repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from ._scripts import Scripts
from .keys import GlobalKeys
from .message import Message

#: A claimed timer that is not confirmed delivered within this time is due again.
CLAIM_LEASE_MS = 30_000


@dataclass(frozen=True)
class ClaimedTimer:
    timer_id: str
    message: Message
    #: when it was due (ms, Redis clock; for a claim that expired, when it was due again)
    due_ms: int = 0


@dataclass(frozen=True)
class ClaimResult:
    now_ms: int
    next_due_ms: int | None
    timers: list[ClaimedTimer]


class TimerStore:
    def __init__(self, client: redis.Redis, scripts: Scripts, keys: GlobalKeys) -> None:
        self._client = client
        self._scripts = scripts
        self._keys = keys

    @property
    def _all_keys(self) -> list[str]:
        k = self._keys
        return [k.timers_due, k.timers_body, k.timers_claimed]

    def schedule_at(self, timer_id: str, due_ms: int, message: Message) -> int:
        return int(self._scripts.timer_schedule(
            keys=self._all_keys, args=[timer_id, "at", int(due_ms), message.encode()]))

    def schedule_in(self, timer_id: str, delay_ms: int, message: Message) -> int:
        return int(self._scripts.timer_schedule(
            keys=self._all_keys, args=[timer_id, "in", int(delay_ms), message.encode()]))

    def cancel(self, *timer_ids: str) -> None:
        if timer_ids:
            self._scripts.timer_done(keys=self._all_keys, args=list(timer_ids))

    confirm = cancel  # a delivered timer is forgotten exactly like a cancelled one

    def claim_due(self, limit: int = 100) -> ClaimResult:
        out = self._scripts.timer_claim(keys=self._all_keys, args=[limit, CLAIM_LEASE_MS])
        now_ms, next_due = int(out[0]), int(out[1])
        timers = []
        for i in range(2, len(out), 3):
            tid = out[i].decode() if isinstance(out[i], bytes) else out[i]
            timers.append(ClaimedTimer(tid, Message.decode(out[i + 1]), int(out[i + 2])))
        return ClaimResult(now_ms, None if next_due < 0 else next_due, timers)

    def pending(self) -> dict[str, float]:
        """Timer id -> due time in ms, for inspection."""
        rows: list[tuple[bytes, float]] = self._client.zrange(  # type: ignore[assignment]
            self._keys.timers_due, 0, -1, withscores=True)
        return {k.decode(): float(v) for k, v in rows}


def timer_message_id(timer_id: str) -> str:
    return f"timer:{timer_id}"
