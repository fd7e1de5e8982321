"""The mailbox read straight from its Redis list, when the broker is the runtime's Redis.

One round trip takes a batch (``take.lua`` moves it to the actor's ``taken`` list
and renews the lease) instead of a ``basic_get``, an unacked record and an ack per
message through Kombu. What sits in ``taken`` is the batch in flight: the commit
deletes the list, and a dead turn's list is put back at the head of the mailbox by
whoever takes the actor over (``begin_turn.lua``, ``recover.lua``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .journal import LeaseLost
from .keys import ActorKeys
from .message import MalformedMessage, Message

if TYPE_CHECKING:
    from .system import ActorSystem


class TakenEnvelope:
    """One entry of a mailbox's Redis list, taken by ``take.lua``.

    The list holds Kombu's Redis-transport envelopes: a JSON object whose ``body`` is
    our message, base64-encoded when ``properties.body_encoding`` says so. Reading it
    here is the only place the runtime knows that format; the generic path
    (``Mailbox.take``) goes through Kombu and works with any transport.

    Anything else in the list (not JSON, not an object, a body that is not a string,
    broken base64) raises :class:`MalformedMessage` from :attr:`body`, never anything
    else: the turn dead-letters it. (A body of a huge integer once reached
    ``bytes(n)``, which allocates n bytes.)
    """

    def __init__(self, envelope: bytes, taken_key: str,
                 seen_hint: tuple[str, bool] | None = None) -> None:
        self.envelope = envelope
        self._taken_key = taken_key
        self.acknowledged = False
        #: (msg_id from the envelope's headers, whether the journal had it when taken)
        self.seen_hint = seen_hint

    @property
    def body(self) -> bytes:
        try:
            data = json.loads(self.envelope)
        except (ValueError, TypeError, RecursionError) as exc:
            raise MalformedMessage(f"not a mailbox envelope (not JSON: {exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("body"), str):
            raise MalformedMessage("not a mailbox envelope (an object with a string body)")
        properties = data.get("properties")
        encoding = properties.get("body_encoding") if isinstance(properties, dict) else None
        if encoding == "base64":
            try:
                return base64.b64decode(data["body"], validate=True)
            except ValueError as exc:
                raise MalformedMessage(f"envelope body is not base64: {exc}") from None
        return str(data["body"]).encode("utf-8", "surrogatepass")

    def decode(self) -> Message:
        return Message.decode(self.body)

    def readable(self) -> bytes | str:
        try:
            return self.body
        except MalformedMessage:  # a broken envelope: show it as it is
            return self.envelope

    def forget_in(self, pipe: Any) -> None:
        pipe.lrem(self._taken_key, 1, self.envelope)

    def ack(self) -> None:
        self.acknowledged = True


class RedisListReader:
    """Takes batches from an actor's mailbox list (see the module docstring)."""

    def __init__(self, system: ActorSystem, keys: ActorKeys) -> None:
        self._system = system
        self._keys = keys
        self.length_key: str | None = keys.mailbox
        #: the token of the turn that took the last batch: a give-back is fenced by it
        self._token = ""

    def take(self, token: str, limit: int,
             also: Callable[[Any], None]) -> list[TakenEnvelope]:
        sys_, k = self._system, self._keys
        self._token = token

        def build(pipe: Any) -> None:
            sys_.scripts.call_in(pipe, "take", [k.mailbox, k.taken, k.activation, k.seen],
                                 [token, sys_.lease_ms, limit])
            also(pipe)

        out = sys_.scripts.pipeline(build)[0]
        if out and out[0] == -1:
            raise LeaseLost(k.actor_id)
        items, ids, seen = out
        return [TakenEnvelope(item, k.taken, (_text(msg_id), bool(flag)) if msg_id else None)
                for item, msg_id, flag in zip(items, ids, seen, strict=True)]

    def acknowledge(self, taken: Sequence[TakenEnvelope]) -> None:
        for envelope in taken:  # the commit deleted the 'taken' list
            envelope.ack()

    def give_back(self, taken: Sequence[TakenEnvelope]) -> None:
        """Back at the head of the mailbox, in the order they were taken, minus what was
        set aside as dead letters (already out of the 'taken' list). Only while this
        turn still owns the actor (``give_back.lua``): a give-back that reaches Redis
        after the actor was taken over (a partitioned worker's late write) does nothing."""
        if not taken:
            return
        envelopes = [e.envelope for e in taken if not e.acknowledged]
        k = self._keys
        self._system.scripts.give_back(keys=[k.activation, k.taken, k.mailbox],
                                       args=[self._token, *reversed(envelopes)])
        self.acknowledge(taken)

    def let_go(self, taken: Sequence[TakenEnvelope]) -> None:
        """Nothing to do: whoever took the actor over already put the 'taken' list back,
        and touching it now could drop that turn's batch."""


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
