"""A sealed journal: an actor's events 1..n kept as one compressed value, and the one
reader of a journal that every caller goes through.

Why: a Redis stream costs far more than its entries (a stream of a dozen small events
takes 1-2 KB; the same events compressed take 150-300 bytes), and most actors'
journals stop growing for good (an ended run) or for a long while (a run asleep or
waiting on a hook). ``compaction`` folds such a journal into the actor's ``sealed``
key and deletes the stream; the sealed length is kept in the actor's meta hash
(``sealed``) so the turn scripts know where the journal ends without reading it.

An actor that goes on after being sealed (a woken sleeper, an operator's retry of a
failed run) appends to a new stream from ``n + 1``: the journal is then the sealed
prefix plus the stream, in that order, and the next seal folds both back into one
value. No reader ever sees the difference: :func:`merge` is the one place that turns
(sealed value, stream entries) into events, and ``Journal``, the client, the CLI and
the dashboard all read through it.

The value (format 1): a byte ``1``, a byte naming the preset dictionary, then raw
DEFLATE (zlib, with that dictionary) of the JSON ``{"s": first seq, "ts": [...],
"e": [[type, data, msg id], ...]}``. Three things make a short journal small: the
dictionary (what a behaviour's events always say: ``register_dictionary``; a run's
journal halves with it), message ids written relative to the actor id (``~`` for the
id itself, ``=`` before an id that does not start with it), and the times as exact
integer steps: a time of the epoch since 2004 is a multiple of 2^-22 s as a float, so
``ts * 2**22`` is an integer and the journal keeps the first and the differences
(``"tf"``, the floats as they are, when a time is not such a multiple). A value
without the leading ``1`` is format 0 (zlib of ``{"s", "e": [{"t", "d", "ts", "m"}]}``).

Why zlib and not zstd: zlib is in the standard library (no new dependency for every
worker and client) and takes a preset dictionary; on values of a few hundred bytes
zstd's ratio is within a few percent of it, and either compresses a short journal in
about 20 us, far below one Redis round trip.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from .event import Event

__all__ = ["decode_entry", "encode", "events_of", "merge", "register_dictionary",
           "sealed_last_seq", "torn"]

FORMAT = 1
#: zlib level: 6 (the default) is within 1-2% of 9 on journals and twice as fast.
LEVEL = 6
#: time steps per second: a float time in [2^30, 2^31) s is a multiple of 2^-22 s
_TICKS = float(2 ** 22)
#: preset dictionaries by id; 0 is none. An id, once a value names it, means those
#: bytes forever (a changed dictionary is a new id).
_DICTIONARIES: dict[int, bytes] = {0: b""}


class SealedJournalError(Exception):
    """A sealed value this process cannot read (a dictionary it has not registered)."""


def register_dictionary(dict_id: int, zdict: bytes) -> None:
    """Make ``zdict`` the preset dictionary named ``dict_id`` (1-255) in this process.
    Registering other bytes under an id already taken is refused: values written with
    the first would no longer read."""
    if not 0 < dict_id < 256:
        raise ValueError("a dictionary id is 1..255")
    known = _DICTIONARIES.setdefault(dict_id, zdict)
    if known != zdict:
        raise ValueError(f"dictionary {dict_id} is registered with other bytes")


def decode_entry(entry_id: bytes | str, fields: dict[Any, Any]) -> Event:
    """One stream entry (``<seq>-0``, field ``e``: the event's JSON) as an event."""
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    raw = fields.get(b"e", fields.get("e"))
    body = json.loads(raw or b"{}")
    return Event(seq=int(eid.split("-", 1)[0]), type=body["t"], data=body["d"], ts=body["ts"],
                 msg_id=body.get("m"))


def encode(events: Sequence[Event], actor_id: str, dict_id: int = 0) -> bytes:
    """The sealed value of ``events`` (consecutive seqs, oldest first) of ``actor_id``."""
    body: dict[str, Any] = {"s": events[0].seq if events else 1}
    ticks = [int(e.ts * _TICKS) if float(e.ts * _TICKS).is_integer() else None for e in events]
    if all(t is not None and t / _TICKS == e.ts for t, e in zip(ticks, events, strict=True)):
        exact = [int(t or 0) for t in ticks]
        body["ts"] = exact[:1] + [b - a for a, b in zip(exact, exact[1:], strict=False)]
    else:
        body["tf"] = [e.ts for e in events]
    body["e"] = [[e.type, e.data, _relative(e.msg_id, actor_id)] for e in events]
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY,
                              *([_DICTIONARIES[dict_id]] if dict_id else []))
    raw = json.dumps(body, separators=(",", ":")).encode()
    return bytes((FORMAT, dict_id)) + packer.compress(raw) + packer.flush()


def events_of(sealed: bytes | None, actor_id: str) -> list[Event]:
    """Every event in a sealed value of ``actor_id`` (none for ``None``: not sealed)."""
    if not sealed:
        return []
    if sealed[0] != FORMAT:  # format 0: a zlib stream (its first byte is 0x78)
        old = json.loads(zlib.decompress(sealed))
        return [Event(seq=int(old["s"]) + i, type=e["t"], data=e["d"], ts=e["ts"],
                      msg_id=e.get("m")) for i, e in enumerate(old["e"])]
    zdict = _DICTIONARIES.get(sealed[1])
    if zdict is None:
        raise SealedJournalError(f"a journal sealed with dictionary {sealed[1]}, which this "
                                 "process has not registered (import the package whose "
                                 "actors wrote it)")
    unpacker = zlib.decompressobj(-15, *([zdict] if sealed[1] else []))
    body = json.loads(unpacker.decompress(sealed[2:]) + unpacker.flush())
    first = int(body["s"])
    times: list[float] = body.get("tf") or []
    if "ts" in body:
        at = 0
        for step in body["ts"]:
            at += int(step)
            times.append(at / _TICKS)
    return [Event(seq=first + i, type=t, data=d, ts=times[i], msg_id=_absolute(m, actor_id))
            for i, (t, d, m) in enumerate(body["e"])]


def merge(sealed: bytes | None, entries: Iterable[tuple[Any, dict[Any, Any]]],
          actor_id: str, after_seq: int = 0, count: int | None = None) -> list[Event]:
    """The journal's events with seq > ``after_seq``, oldest first, at most ``count``:
    the sealed prefix (``sealed``, the actor's sealed key; None when it has none), then
    the stream's ``entries`` (read from ``after_seq + 1`` on)."""
    out = [e for e in events_of(sealed, actor_id) if e.seq > after_seq]
    if count is not None and len(out) >= count:
        return out[:count]
    last = out[-1].seq if out else after_seq
    for entry_id, fields in entries:
        event = decode_entry(entry_id, fields)
        if event.seq > last:  # never twice, should a seal and a read cross
            out.append(event)
            last = event.seq
        if count is not None and len(out) >= count:
            break
    return out


def torn(events: Sequence[Event], after_seq: int, sealed_at: Any) -> bool:
    """Whether a read of (sealed value, stream) crossed a seal: the value was read before
    it and the stream after it (gone), so events the seal moved were missed. Detected by
    also reading meta's ``sealed`` last in the same pipeline: a journal sealed up to n
    whose read ends before n (and after ``after_seq``) was torn; read it again."""
    end = events[-1].seq if events else after_seq
    return sealed_last_seq(sealed_at) > max(end, after_seq)


def sealed_last_seq(raw: Any) -> int:
    """The seq a sealed journal ends at, from the actor meta's ``sealed`` field."""
    return int(raw) if raw else 0


def _relative(msg_id: str | None, actor_id: str) -> str | None:
    if msg_id is None:
        return None
    if msg_id.startswith(actor_id):
        return "~" + msg_id[len(actor_id):]
    return "=" + msg_id


def _absolute(stored: str | None, actor_id: str) -> str | None:
    if stored is None:
        return None
    return actor_id + stored[1:] if stored[:1] == "~" else stored[1:]
