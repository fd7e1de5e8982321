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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.cluster import RedisCluster

from ._scripts import Scripts
from .fast.conditional_writes import ConditionalWrites
from .keys import GlobalKeys, TimerShardKeys
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
    """Timers spread over ``TIMER_SHARDS`` shards by timer id (see ``keys.py``)."""

    def __init__(self, client: redis.Redis, scripts: Scripts, keys: GlobalKeys) -> None:
        self._client = client
        self._scripts = scripts
        self._keys = keys
        #: a Redis Cluster: a script's keys must share one slot (one shard's)
        self._cluster = isinstance(client, RedisCluster)
        #: told the due time (ms) of every timer this process schedules: this process's
        #: ``TimerRunner``, which then wakes for it even when that is before its next poll
        self.on_schedule: Callable[[int], None] | None = None

    def _scheduled(self, due_ms: int) -> int:
        if self.on_schedule is not None:
            self.on_schedule(due_ms)
        return due_ms

    def schedule_at(self, timer_id: str, due_ms: int, message: Message) -> int:
        return self._scheduled(int(self._scripts.timer_schedule(
            keys=self._keys.timer_shard_of(timer_id).every(),
            args=[timer_id, "at", int(due_ms), message.encode()])))

    def schedule_writes(self, writes: ConditionalWrites, timer_id: str, due_ms: int,
                        message: Message) -> None:
        """``schedule_at`` as writes made only if a commit happened (a turn's timers sent
        in its commit's round trip, ``fast.end_in_commit``): the same three commands."""
        shard = self._keys.timer_shard_of(timer_id)
        writes.add("ZREM", shard.claimed, timer_id)
        writes.add("ZADD", shard.due, int(due_ms), timer_id)
        writes.add("HSET", shard.body, timer_id, message.encode())
        self._scheduled(int(due_ms))  # before the commit: at worst, a wake-up for nothing

    def schedule_in(self, timer_id: str, delay_ms: int, message: Message) -> int:
        return self._scheduled(int(self._scripts.timer_schedule(
            keys=self._keys.timer_shard_of(timer_id).every(),
            args=[timer_id, "in", int(delay_ms), message.encode()])))

    def cancel(self, *timer_ids: str) -> None:
        by_shard: dict[str, list[str]] = {}
        shards: dict[str, TimerShardKeys] = {}
        for timer_id in timer_ids:
            shard = self._keys.timer_shard_of(timer_id)
            shards[shard.due] = shard
            by_shard.setdefault(shard.due, []).append(timer_id)
        def build(pipe: Any) -> None:
            for due, ids in by_shard.items():
                self._scripts.call_in(pipe, "timer_done", shards[due].every(), ids)

        if by_shard:
            self._scripts.pipeline(build)

    confirm = cancel  # a delivered timer is forgotten exactly like a cancelled one

    def confirm_if_owner_in(self, pipe: Any, activation_key: str, token: str,
                            timer_id: str) -> None:
        """Queue on ``pipe`` the confirm of a timer whose message a turn holds in hand,
        done only if ``token`` owns the actor (``timer_handed.lua``; one server only)."""
        self._scripts.call_in(pipe, "timer_handed",
                              [activation_key, *self._keys.timer_shard_of(timer_id).every()],
                              [token, timer_id])

    def claim_due(self, limit: int = 100, lease_ms: int = CLAIM_LEASE_MS,
                  grace_ms: int = 0) -> ClaimResult:
        """Claim due timers in every shard (``limit`` per shard), each for ``lease_ms``;
        only those due ``grace_ms`` ago or earlier (``next_due_ms`` is the earliest due
        time still waiting, whatever the grace)."""
        def build(pipe: Any) -> None:
            for shard in self._keys.timer_shards:
                self._scripts.call_in(pipe, "timer_claim", shard.every(),
                                      [limit, lease_ms, grace_ms])

        return _claimed(self._scripts.pipeline(build))

    def claim_earliest(self, limit: int, lease_ms: int = CLAIM_LEASE_MS) -> ClaimResult:
        """Claim the ``limit`` earliest due timers of all shards together, in one script
        (a ``TimerRunner``'s pass: it runs what it claims one after the other, so it
        claims a few, not a few per shard). On a Redis Cluster, whose scripts cannot
        span the shards, one per shard."""
        if self._cluster:
            return self.claim_due(1, lease_ms)
        keys = [key for shard in self._keys.timer_shards for key in shard.every()]
        return _claimed([self._scripts.timer_claim(keys=keys, args=[limit, lease_ms])])

    def pending(self) -> dict[str, float]:
        """Timer id -> due time in ms, for inspection."""
        found: dict[str, float] = {}
        for shard in self._keys.timer_shards:
            rows: list[tuple[bytes, float]] = self._client.zrange(  # type: ignore[assignment]
                shard.due, 0, -1, withscores=True)
            found.update((k.decode(), float(v)) for k, v in rows)
        return found


def _claimed(outs: list[Any]) -> ClaimResult:
    """The replies of ``timer_claim.lua`` calls, merged."""
    now_ms, next_dues, timers = 0, [], []
    for out in outs:
        now_ms = max(now_ms, int(out[0]))
        if int(out[1]) >= 0:
            next_dues.append(int(out[1]))
        for i in range(2, len(out), 3):
            tid = out[i].decode() if isinstance(out[i], bytes) else out[i]
            timers.append(ClaimedTimer(tid, Message.decode(out[i + 1]), int(out[i + 2])))
    return ClaimResult(now_ms, min(next_dues, default=None), timers)


def timer_message_id(timer_id: str) -> str:
    return f"timer:{timer_id}"
