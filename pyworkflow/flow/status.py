"""What the limits are doing now, for people: ``runs status`` (a run's own wait is on its
record), ``pyworkflow queues show`` (via ``cli/flow_limits``), the dashboard and
``/metrics`` (``metrics/flow``). Bounded reads: at most ``MAX_SHOWN`` limit keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import keys
from .slots import from_index_member

#: The most limit keys (and rate limit keys) one read looks at.
MAX_SHOWN = 1000


@dataclass(frozen=True)
class LimitState:
    """One limit key: slots held, waiters, and the max last declared."""

    limit: str
    key: str
    held: int
    waiting: int
    max: int | None

    def describe(self) -> str:
        return f"{self.key or '(all)'}: {self.held} of {self.max or '?'} held, " \
               f"{self.waiting} waiting"


@dataclass(frozen=True)
class RateState:
    """One rate limit key: when its next start is free (ms, Redis clock) and how many
    deferred attempts hold a reserved start."""

    limit: str
    key: str
    next_free_ms: float | None
    reserved: int


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def limit_states(redis: Any, prefix: str, limit_name: str | None = None,
                 most: int = MAX_SHOWN) -> list[LimitState]:
    """Every limit key with holders or waiters (``limit_name``: of that limit only)."""
    members = [from_index_member(_text(m))
               for m in redis.zrange(keys.slot_index(prefix), 0, most - 1)]
    if limit_name is not None:
        members = [(name, key) for name, key in members if name == limit_name]
    pipe = redis.pipeline(transaction=False)
    for name, key in members:
        ks = keys.slot_keys(prefix, name, key)
        pipe.zcard(ks[0])
        pipe.zcard(ks[1])
        pipe.hget(ks[4], "max")
    replies = pipe.execute() if members else []
    states = []
    for i, (name, key) in enumerate(members):
        held, waiting, max_slots = replies[3 * i:3 * i + 3]
        if not held and not waiting:
            continue  # emptied since: the sweep drops it from the index on its next visit
        states.append(LimitState(name, key, int(held), int(waiting),
                                 int(max_slots) if max_slots is not None else None))
    return sorted(states, key=lambda s: (s.limit, s.key))


def rate_states(redis: Any, prefix: str, most: int = MAX_SHOWN) -> list[RateState]:
    """The rate limit keys that have deferred an attempt (newest first)."""
    members = [from_index_member(_text(m))
               for m in redis.zrevrange(keys.rate_index(prefix), 0, most - 1)]
    pipe = redis.pipeline(transaction=False)
    for name, key in members:
        tat, reserved = keys.rate_limit(prefix, name, key)
        pipe.get(tat)
        pipe.zcard(reserved)
    replies = pipe.execute() if members else []
    return [RateState(name, key, float(replies[2 * i]) if replies[2 * i] else None,
                      int(replies[2 * i + 1])) for i, (name, key) in enumerate(members)]


def limits_view(redis: Any, prefix: str, limit_name: str | None = None) -> dict[str, Any]:
    """Both, as plain data: ``queues show --output json`` and the dashboard's queues page."""
    return {
        "slots": [{"limit": s.limit, "key": s.key, "held": s.held, "waiting": s.waiting,
                   "max": s.max} for s in limit_states(redis, prefix, limit_name)],
        "rate_limits": [{"limit": r.limit, "key": r.key, "next_free_ms": r.next_free_ms,
                         "reserved": r.reserved} for r in rate_states(redis, prefix)],
    }
