"""Concurrency slots in Redis: take one, wait for one, let one go, sweep dead ones.

One limit key (``workflow:billing`` with ``customer_id=42``) keeps its holders, its
waiters in order of arrival and what to deliver to each waiter when it is granted, all
under one hash tag (``keys.slot_keys``), changed only by two scripts:
``slot_acquire.lua`` and ``slot_release.lua``.

A slot is held under a lease, as a turn or a step attempt is: a holder's entry is
scored by when it expires. A step attempt's slot is renewed by the process running it
(``slot_keeper``): a SIGKILLed worker stops renewing, and the next release or sweep of
that limit key drops the slot. A run's slot is renewed by the sweep (``sweeper``), which
first checks the run has not ended: a run's slot is let go by the task its final turn
commits in its outbox, and the sweep is what catches a release that never ran.

A freed slot goes to the oldest waiter, in the same script: the waiter becomes a holder
at once (with a short grant lease), and whoever ran the script delivers the grant
(``grants``): a waiting run gets a ``slot-granted`` message, a waiting step attempt its
task again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .. import keys
from ..worker._scripts import script
from .limit import Verdict

#: A step attempt's slot lease: renewed every third of it while the step runs.
STEP_SLOT_LEASE_MS = 5_000
#: A run's slot lease: renewed by the sweep while the run has not ended.
RUN_SLOT_LEASE_MS = 15_000
#: How long a granted run has to take its slot before the sweep sends the grant again.
RUN_GRANT_LEASE_MS = 15_000
#: How long a granted step attempt has to start before its slot is given to the next.
STEP_GRANT_LEASE_MS = 120_000
#: The most expired run holders one release reports for a check.
SWEEP_BATCH = 100

ACQUIRE = "flow/slot_acquire"
RELEASE = "flow/slot_release"


def index_member(limit: str, key: str) -> str:
    """A limit key in the sweep's index (``keys.slot_index``)."""
    return f"{limit}\x1f{key}"


def from_index_member(member: str) -> tuple[str, str]:
    limit, _, key = member.partition("\x1f")
    return limit, key


@dataclass(frozen=True)
class Grant:
    """A waiter that was given a slot: who, since when it waited (ms), what to deliver."""

    holder: str
    since_ms: int
    payload: str


@dataclass
class Released:
    released: bool
    held: int
    waiting: int
    next_due_ms: int | None
    expired_runs: list[str] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Slots:
    """The slot scripts on one Redis client (sync)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self.index = keys.slot_index(prefix)

    def acquire(self, limit: str, key: str, holder: str, max_slots: int, policy: str,
                lease_ms: int, payload: str) -> Verdict:
        state, held, victim, first = script(self.redis, ACQUIRE)(
            keys=keys.slot_keys(self.prefix, limit, key),
            args=[holder, max_slots, policy, lease_ms, payload])
        if int(first):  # a limit key newly in use: the sweep must know of it (LT: never
            # push back a look it planned sooner; a renewal or release moves it on)
            self.redis.zadd(self.index, {index_member(limit, key): _now_ms_hint(lease_ms)},
                            lt=True)
        return Verdict({1: "held", 0: "waiting", -1: "refused"}[int(state)], int(held),
                       _text(victim))

    def release(self, limit: str, key: str, holder: str, max_slots: int | None = None,
                reindex: bool = False) -> Released:
        """Let ``holder`` go ("" to only sweep) and grant what frees; see the script.

        ``reindex`` (the sweep): point the sweep's index at the key's next expiry, or
        drop it. A plain release leaves the index as it is: it can only point earlier
        than needed, and the sweep's visit then moves it (one round trip saved on every
        step that held a slot)."""
        reply = script(self.redis, RELEASE)(
            keys=keys.slot_keys(self.prefix, limit, key),
            args=[holder, "" if max_slots is None else max_slots, RUN_GRANT_LEASE_MS,
                  SWEEP_BATCH, STEP_GRANT_LEASE_MS])
        out = _released(reply)
        if not reindex:
            return out
        member = index_member(limit, key)
        if out.next_due_ms is None and not out.waiting:
            self.redis.zrem(self.index, member)
        else:
            self.redis.zadd(self.index, {member: out.next_due_ms or _now_ms_hint(0)})
        return out

    def renew(self, limit: str, key: str, holders: list[str], lease_ms: int) -> list[bool]:
        """Move the leases of ``holders`` on (never bringing back one that is gone)."""
        holders_key = keys.slot_keys(self.prefix, limit, key)[0]
        expiry = _now_ms_hint(lease_ms)
        pipe = self.redis.pipeline(transaction=False)
        for holder in holders:
            pipe.zadd(holders_key, {holder: expiry}, xx=True, ch=True)
        pipe.zadd(self.index, {index_member(limit, key): expiry}, lt=True)
        return [bool(changed) for changed in pipe.execute()[:-1]]

    def reindex(self, limit: str, key: str) -> None:
        """Point the sweep's index at the limit key's soonest lease (after renewals that
        moved the one it pointed at)."""
        holders = keys.slot_keys(self.prefix, limit, key)[0]
        soonest = self.redis.zrange(holders, 0, 0, withscores=True)
        if soonest:
            self.redis.zadd(self.index, {index_member(limit, key): int(soonest[0][1])})

    def held(self, limit: str, key: str) -> tuple[int, int, int | None]:
        """(slots held, waiters, the max last declared) of one limit key."""
        ks = keys.slot_keys(self.prefix, limit, key)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(ks[0])
        pipe.zcard(ks[1])
        pipe.hget(ks[4], "max")
        held, waiting, max_slots = pipe.execute()
        return int(held), int(waiting), int(max_slots) if max_slots is not None else None


def _released(reply: list[Any]) -> Released:
    released, held, waiting, next_due, n = (int(v) for v in reply[:5])
    runs = [_text(v) for v in reply[5:5 + n]]
    rest = reply[5 + n:]
    grants = []
    for i in range(0, len(rest), 2):
        since, _, payload = _text(rest[i + 1]).partition("|")
        grants.append(Grant(_text(rest[i]), int(since or 0), payload))
    return Released(bool(released), held, waiting, None if next_due < 0 else next_due,
                    runs, grants)


def _now_ms_hint(ahead_ms: int) -> int:
    """This process's clock plus ``ahead_ms``: only for the sweep's index (a hint of when
    to look; the leases themselves are judged on the Redis clock)."""
    return int(time.time() * 1000) + ahead_ms


class RunSlots:
    """The engine's slot port on a worker (``engine.ports.SlotStore``): a run's slot,
    under the run slot lease."""

    def __init__(self, slots: Slots) -> None:
        self._slots = slots

    def admit(self, limit: str, key: str, holder: str, max_slots: int, policy: str,
              payload: str) -> Verdict:
        return self._slots.acquire(limit, key, holder, max_slots, policy, RUN_SLOT_LEASE_MS,
                                   payload)
