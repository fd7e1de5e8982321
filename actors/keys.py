"""Redis key names: one place that decides the layout.

Every key of one actor carries the actor id as a hash tag (``{actor_id}``) so the
actor's keys share one Redis Cluster slot and its scripts stay legal there. The
few global structures (timers, lease index, dead letters) carry their own tags.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        return [self.journal, self.activation, self.meta, self.seen, self.outbox, self.record,
                self.taken, self.dispatching, self.inhand, self.inflight, self.mailbox]


@dataclass(frozen=True)
class GlobalKeys:
    """Keys shared by all actors of one key prefix."""

    prefix: str

    @property
    def timers_due(self) -> str:
        return f"{self.prefix}:{{timers}}:due"

    @property
    def timers_body(self) -> str:
        return f"{self.prefix}:{{timers}}:body"

    @property
    def timers_claimed(self) -> str:
        return f"{self.prefix}:{{timers}}:claimed"

    @property
    def lease_index(self) -> str:
        return f"{self.prefix}:{{leases}}"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}:{{deadletters}}"

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
