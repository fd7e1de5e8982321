"""Redis key names: one place that decides the layout.

Every key of one actor carries the actor id as a hash tag (``{actor_id}``) so the
actor's keys share one Redis Cluster slot and its scripts stay legal there. The
few global structures (timers, lease index, dead letters) carry their own tags.

The two global structures every turn or timer writes, the timers and the lease
index, are split into a fixed number of shards, each with its own tag, so on a
cluster their load spreads over masters instead of making one hot slot. An id's
shard is a hash of the id (stable across processes and versions); the maintenance
loop walks every shard (one pipelined round trip on a single Redis). Shard 0 keeps
the unsharded names, so timers and leases written before sharding are still found.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

#: Shards of the timers and of the lease index. Fixed: every process of a deployment
#: must agree on them (an id's shard is a hash modulo this count).
TIMER_SHARDS = 8
LEASE_SHARDS = 8


def shard_of(item_id: str, shards: int) -> int:
    """The shard of ``item_id`` among ``shards`` (CRC-32: the same in every process)."""
    return zlib.crc32(item_id.encode()) % shards


@dataclass(frozen=True)
class TimerShardKeys:
    """One timer shard: due times, message bodies and claims (one hash tag)."""

    due: str
    body: str
    claimed: str

    def every(self) -> list[str]:
        return [self.due, self.body, self.claimed]


@dataclass(frozen=True)
class ActorKeys:
    """The keys of one actor."""

    prefix: str
    actor_id: str

    def _key(self, part: str) -> str:
        return f"{self.prefix}:{{{self.actor_id}}}:{part}"

    @property
    def journal(self) -> str:
        return self._key("journal")

    @property
    def sealed(self) -> str:
        """String: the journal's first events, compressed (``sealed``); the stream holds
        the events after them, if any."""
        return self._key("sealed")

    @property
    def activation(self) -> str:
        return self._key("activation")

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def seen(self) -> str:
        return self._key("seen")

    @property
    def outbox(self) -> str:
        return self._key("outbox")

    @property
    def record(self) -> str:
        return self._key("record")

    @property
    def taken(self) -> str:
        return self._key("taken")

    @property
    def dispatching(self) -> str:
        return self._key("dispatching")

    @property
    def inhand(self) -> str:
        return self._key("inhand")

    @property
    def inflight(self) -> str:
        return self._key("inflight")

    @property
    def mailbox(self) -> str:
        """The Kombu queue name (on the Redis transport, also the list's key)."""
        return self._key("mailbox")

    def every(self) -> list[str]:
        """Every key of the actor: what ``ActorSystem.forget`` deletes."""
        return [self.journal, self.sealed, self.activation, self.meta, self.seen, self.outbox,
                self.record, self.taken, self.dispatching, self.inhand, self.inflight,
                self.mailbox]


@dataclass(frozen=True)
class GlobalKeys:
    """Keys shared by all actors of one key prefix."""

    prefix: str

    def timer_shard(self, shard: int) -> TimerShardKeys:
        """The keys of timer shard ``shard`` (0 keeps the unsharded names)."""
        tag = "timers" if shard == 0 else f"timers:{shard}"
        base = f"{self.prefix}:{{{tag}}}"
        return TimerShardKeys(f"{base}:due", f"{base}:body", f"{base}:claimed")

    def timer_shard_of(self, timer_id: str) -> TimerShardKeys:
        return self.timer_shard(shard_of(timer_id, TIMER_SHARDS))

    @property
    def timer_shards(self) -> list[TimerShardKeys]:
        return [self.timer_shard(i) for i in range(TIMER_SHARDS)]

    def lease_index_of(self, actor_id: str) -> str:
        """The lease index shard that holds ``actor_id`` (see ``lease_indexes``)."""
        return self._lease_index(shard_of(actor_id, LEASE_SHARDS))

    @property
    def lease_indexes(self) -> list[str]:
        """Every lease index shard (0 keeps the unsharded name ``{leases}``)."""
        return [self._lease_index(i) for i in range(LEASE_SHARDS)]

    def _lease_index(self, shard: int) -> str:
        return f"{self.prefix}:{{leases}}" if shard == 0 else f"{self.prefix}:{{leases:{shard}}}"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}:{{deadletters}}"

    @property
    def held_tasks(self) -> str:
        """Each worker's task messages in hand, by worker name (``actors.held_tasks``)."""
        return f"{self.prefix}:{{heldtasks}}"

    @property
    def mailbox_unacked(self) -> str:
        """Kombu's hash of mailbox messages taken and not acknowledged (Redis broker)."""
        return f"{self.prefix}:{{mailbox}}:unacked"

    @property
    def mailbox_unacked_index(self) -> str:
        """Kombu's zset of those messages' delivery tags by when they were taken."""
        return f"{self.mailbox_unacked}_index"

    @property
    def mailbox_unacked_mutex(self) -> str:
        """Kombu's lock around restoring them."""
        return f"{self.mailbox_unacked}_mutex"

    def for_actor(self, actor_id: str) -> ActorKeys:
        return ActorKeys(self.prefix, actor_id)

    def actor_of_mailbox(self, queue_name: str) -> str | None:
        """The actor whose mailbox queue this is (``<prefix>:{<actor>}:mailbox``)."""
        head, tail = f"{self.prefix}:{{", "}:mailbox"
        if queue_name.startswith(head) and queue_name.endswith(tail):
            return queue_name[len(head):-len(tail)]
        return None
