# Kombu ships type hints for few of its functions; calls into it are not
# held to --strict (everything else in this module is).
# mypy: untyped-calls-exclude=kombu
"""The mailbox read through Kombu, on any transport (Redis, AMQP).

Messages are taken unacknowledged (``Mailbox.take``) and their delivery tags are
recorded with the lease, in the actor's ``inflight`` list, in the round trip that
renews the lease: if this process dies, whoever takes the actor over restores
those tags (on a Redis broker Kombu would otherwise keep them in its ``unacked``
hash until a visibility timeout; on AMQP the broker requeues them itself when the
connection drops).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kombu.message import Message as KombuMessage

from .journal import LeaseLost
from .keys import ActorKeys
from .message import Message

if TYPE_CHECKING:
    from .system import ActorSystem


class KombuTaken:
    """One message taken through Kombu, not acknowledged yet."""

    seen_hint = None  # a Kombu get cannot look at the seen set: the turn looks it up

    def __init__(self, message: KombuMessage) -> None:
        self.message = message

    @property
    def acknowledged(self) -> bool:
        return bool(self.message.acknowledged)

    def decode(self) -> Message:
        return Message.decode(self.message.body)

    def readable(self) -> bytes | str:
        body = self.message.body
        return body if isinstance(body, bytes | str) else repr(self.message)[:1000]

    def forget_in(self, pipe: Any) -> None:
        """Nothing in the actor's keys: the message leaves the broker with ``ack``."""

    def ack(self) -> None:
        if not self.message.acknowledged:
            self.message.ack()


class KombuReader:
    """Takes batches from an actor's Kombu queue (see the module docstring)."""

    length_key: str | None = None

    def __init__(self, system: ActorSystem, keys: ActorKeys) -> None:
        self._system = system
        self._keys = keys

    def take(self, token: str, limit: int, also: Callable[[Any], None]) -> list[KombuTaken]:
        sys_, k = self._system, self._keys
        taken = [KombuTaken(m) for m in sys_.mailbox.take(k.mailbox, limit)]
        if not taken:
            return []

        def build(pipe: Any) -> None:
            pipe.rpush(k.inflight, *[t.message.delivery_tag for t in taken])
            sys_.scripts.call_in(pipe, "renew", [k.activation], [token, sys_.lease_ms])
            also(pipe)

        if not sys_.scripts.pipeline(build)[1]:
            self.let_go(taken)
            raise LeaseLost(k.actor_id)
        return taken

    def acknowledge(self, taken: Sequence[KombuTaken]) -> None:
        unacked = [t for t in taken if not t.acknowledged]
        for t in unacked:
            t.ack()
        if unacked:
            self._system.redis.delete(self._keys.inflight)

    def give_back(self, taken: Sequence[KombuTaken]) -> None:
        """Requeued through the broker (behind newer messages), tags forgotten."""
        self.let_go(taken)
        if taken:
            self._system.redis.delete(self._keys.inflight)

    def let_go(self, taken: Sequence[KombuTaken]) -> None:
        """Requeued through the broker; the tags are left to whoever took the actor over
        (restoring a tag that is no longer unacknowledged does nothing)."""
        for t in taken:
            if not t.acknowledged:
                t.message.reject(requeue=True)
