"""The journal: an append-only Redis stream per actor, the single source of truth.

Entry ids are ``<seq>-0``, so the stream itself enforces that sequence numbers only
grow. :meth:`Journal.commit` appends a batch of events only if the caller still
holds the actor's lease and the journal ends where the caller expects; otherwise it
writes nothing. That check is what lets a duplicate or stale turn fail harmlessly.
The event types themselves are pure data (``event``); ``Event`` and ``NewEvent`` are
imported from here too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from ._scripts import Scripts
from .effects import Effect, effect_to_dict
from .event import Event, NewEvent
from .fast import commit_riders
from .keys import ActorKeys
from .sealed import decode_entry, merge, sealed_last_seq, torn

__all__ = ["Event", "Journal", "LeaseLost", "NewEvent", "NotAsDecided", "SequenceConflict",
           "decode_entry"]


class LeaseLost(Exception):
    """The turn no longer owns the actor; it must stop without acknowledging anything."""


class NotAsDecided(Exception):
    """A batch decided before its turn began was not committed: the begin did not leave
    its message in hand (the actor was not ours, or the message was seen) or found a
    dead turn task; nothing was written, and the turn handles the message as usual."""


class SequenceConflict(Exception):
    """The journal moved past what the turn expected; the turn must rebuild its state."""

    def __init__(self, actual_seq: int) -> None:
        super().__init__(f"journal is at seq {actual_seq}")
        self.actual_seq = actual_seq


class Journal:
    """Reads and commits one actor's events."""

    def __init__(self, client: redis.Redis, scripts: Scripts, keys: ActorKeys) -> None:
        self._client = client
        self._scripts = scripts
        self._keys = keys

    def read(self, after_seq: int = 0, count: int | None = None) -> list[Event]:
        """Events with seq > ``after_seq``, oldest first, sealed or not (``sealed``): one
        round trip, the sealed value and the stream read together (again, should that
        read have crossed a seal: ``sealed.torn``)."""
        while True:
            pipe = self._client.pipeline(transaction=False)
            pipe.get(self._keys.sealed)
            pipe.xrange(self._keys.journal, min=f"{after_seq + 1}-0", max="+", count=count)
            pipe.hget(self._keys.meta, "sealed")
            sealed, entries, sealed_at = pipe.execute()
            events = merge(sealed, entries, self._keys.actor_id, after_seq, count)
            if (count is not None and len(events) >= count) or not torn(events, after_seq,
                                                                         sealed_at):
                return events

    def iter_all(self, page: int = 1000) -> Iterable[Event]:
        seq = 0
        while True:
            batch = self.read(seq, page)
            yield from batch
            if len(batch) < page:
                return
            seq = batch[-1].seq

    def last_seq(self) -> int:
        pipe = self._client.pipeline(transaction=False)
        pipe.xrevrange(self._keys.journal, count=1)
        pipe.hget(self._keys.meta, "sealed")
        last, sealed = pipe.execute()
        if not last:
            return sealed_last_seq(sealed)
        return int(last[0][0].decode().split("-", 1)[0])

    def commit(self, token: str, expected_seq: int, lease_ms: int, events: Sequence[NewEvent],
               msg_ids: Sequence[str], effects: Sequence[tuple[str, Effect]],
               record: dict[str, str] | None = None) -> int:
        """Append ``events`` after ``expected_seq``, mark ``msg_ids`` seen, stage ``effects``
        and update the actor's ``record`` projection.

        All or nothing. Returns the new last seq. Raises :class:`LeaseLost` or
        :class:`SequenceConflict` having written nothing.
        """
        return self.commit_then(token, expected_seq, lease_ms, events, msg_ids, effects,
                                record)[0]

    def commit_then(self, token: str, expected_seq: int, lease_ms: int,
                    events: Sequence[NewEvent], msg_ids: Sequence[str],
                    effects: Sequence[tuple[str, Effect]], record: dict[str, str] | None,
                    then: Callable[[Any, str], None] | None = None,
                    settled: bool = False) -> tuple[int, list[Any]]:
        """:meth:`commit`, with ``then(pipe, commit_id)``'s commands queued behind it in the
        same round trip: (the new last seq, their replies)."""
        riders = commit_riders.take()
        if not riders and then is None:
            return self.outcome(self._scripts.commit(
                keys=self._commit_keys(),
                args=self._commit_args(token, expected_seq, lease_ms, events, msg_ids,
                                       effects, record, settled=settled))), []
        at: list[int] = []

        def build(pipe: Any) -> None:
            for rider in riders:
                rider(pipe)
            at.append(len(pipe))
            commit_id = self.queue_commit(pipe, token, expected_seq, lease_ms, events,
                                          msg_ids, effects, record, settled=settled)
            if then is not None:
                then(pipe, commit_id)

        out = self._scripts.pipeline(build)
        return self.outcome(out[at[-1]]), out[at[-1] + 1:]

    def queue_commit(self, pipe: Any, token: str, expected_seq: int, lease_ms: int,
                     events: Sequence[NewEvent], msg_ids: Sequence[str],
                     effects: Sequence[tuple[str, Effect]], record: dict[str, str] | None,
                     guard: str | None = None, settled: bool = False) -> str:
        """Queue the commit on ``pipe`` (its reply goes to :meth:`outcome`); returns the
        commit's id. ``guard``: the msg_id of a message handled before the turn began; the
        commit then happens only if that message is in hand and no dead turn task is
        unaccounted for (else :class:`NotAsDecided`)."""
        args = self._commit_args(token, expected_seq, lease_ms, events, msg_ids, effects,
                                 record, guard, settled)
        self._scripts.call_in(pipe, "commit", self._commit_keys(), args)
        return str(args[3])

    def outcome(self, reply: Any) -> int:
        """The new last seq from a commit's reply, or the exception it stands for."""
        status, value = reply
        if status == -1:
            raise LeaseLost(self._keys.actor_id)
        if status == -2:
            raise SequenceConflict(int(value))
        if status == -3:
            raise NotAsDecided(self._keys.actor_id)
        return int(value)

    def _commit_keys(self) -> list[str]:
        k = self._keys
        return [k.journal, k.activation, k.seen, k.outbox, k.record, k.inhand, k.taken, k.meta]

    @staticmethod
    def _commit_args(token: str, expected_seq: int, lease_ms: int,
                     events: Sequence[NewEvent], msg_ids: Sequence[str],
                     effects: Sequence[tuple[str, Effect]],
                     record: dict[str, str] | None, guard: str | None = None,
                     settled: bool = False) -> list[Any]:
        args: list[Any] = [token, expected_seq, lease_ms, uuid.uuid4().hex, len(events)]
        args.extend(e.encode() for e in events)
        args.append(len(msg_ids))
        args.extend(msg_ids)
        args.append(len(effects))
        for effect_id, effect in effects:
            args.append(effect_id)
            args.append(json.dumps(effect_to_dict(effect), separators=(",", ":")))
        record = record or {}
        args.append(len(record))
        for name, value in record.items():
            args.extend((name, value))
        if guard is not None or settled:
            args.append(guard or "")
        if settled:
            args.append("1")
        return args

    def seen(self, msg_ids: Sequence[str]) -> list[bool]:
        """Whether each msg_id's effects are already in the journal (redelivery check)."""
        if not msg_ids:
            return []
        return [bool(x) for x in self._client.smismember(self._keys.seen, list(msg_ids))]
