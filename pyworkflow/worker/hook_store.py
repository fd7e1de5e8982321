"""Hook records and transitions in Redis, through the script loader.

One hash per token (``keys.hook``) whose status moves atomically from ``pending`` to
``received``, ``expired`` or ``cancelled`` (the Lua scripts beside this file, run by
:mod:`pyworkflow.worker._scripts`). A delivery *claims* the hook: the move to ``received``
and the payload it carries are one write (``hook_claim.lua``), so the payload
recorded is always the one whose sender was told "accepted", however many senders
race. A claim whose message could not be sent is given back (``hook_release.lua``).

The run reads the winner's payload here too: when its hook times out or is
cancelled and the move fails because a delivery claimed the hook first, the stored
payload resolves the hook (the engine's hook store port), so an accepted payload is
recorded even if its message is still on its way or its sender died before sending.

A typed hook's record also carries its model's JSON Schema (``schema``, written by
the engine when the run starts waiting: see :mod:`pyworkflow.hook_info`), so a door
that cannot import the model still checks payloads. A payload the run's model refuses
anyway (the code changed since) is given back by the engine (``hook_reopen.lua``): the
hook is pending again and its ``rejected`` count, the round that the next delivery's
message id names, goes up.

A set per run (``keys.run_hooks``) lists the tokens of each run, so that a cancel
can close the run's hooks at once (a token answers 410 as soon as
``cancel_workflow`` returns); an index (``keys.hooks_index``) lists every token by
creation time for ``list_hooks``. The key names are :mod:`pyworkflow.keys`'.

A ``HookStore`` is bound to one Redis client and key prefix (the runtime holds one);
it is also the engine's hook port (``record``, ``settle`` and ``reopen``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .. import keys
from ..engine.ports import HookMove
from ..hook_info import HookInfo, hook_info_from_record
from ._scripts import script

#: How many hook records ``list_records`` reads per round trip.
LIST_PAGE = 100


@dataclass(frozen=True)
class Move:
    """The outcome of a status move: ``moved``, the status now, when the hook is
    ``received`` the winning delivery's payload as JSON text (None if not stored), and
    how many payloads the run refused before (the delivery's round)."""

    moved: bool
    status: str
    payload: str | None = None
    rejected: int = 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _move(reply: list[Any]) -> Move:
    payload = reply[2] if len(reply) > 2 and reply[2] else None
    rejected = int(reply[3]) if len(reply) > 3 and reply[3] else 0
    return Move(bool(reply[0]), _text(reply[1]), None if payload is None else _text(payload),
                rejected)


class HookStore:
    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _run(self, name: str, token: str, *args: str) -> Any:
        return script(self._redis, name)(keys=[keys.hook(self._prefix, token)],
                                         args=list(args))

    def record(self, token: str, run_id: str, call_id: int, name: str,
               expires_at_ms: int | None, shielded: bool = False,
               schema: str | None = None, typed: bool = False) -> None:
        """Write a new hook (pending). ``schema``: a typed hook's JSON Schema text, at
        most ``hook_info.MAX_SCHEMA_BYTES`` (None when over: then it is not stored)."""
        prefix = self._prefix
        now = time.time()
        fields: dict[str, Any] = {
            "run_id": run_id, "call_id": call_id, "name": name, "status": "pending",
            "expires_at_ms": "" if expires_at_ms is None else expires_at_ms,
            "created_at": repr(now), "shielded": "1" if shielded else "0",
            "typed": "1" if typed or schema is not None else "0"}
        if schema is not None:
            fields["schema"] = schema
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(keys.hook(prefix, token), mapping=fields)
        pipe.zadd(keys.hooks_index(prefix), {token: now})
        pipe.sadd(keys.run_hooks(prefix, run_id), token)
        pipe.execute()

    def transition(self, token: str, to: str, check_expiry: bool = False,
                   spare_shielded: bool = False) -> Move:
        """Move a ``pending`` hook to ``to``; a no-op move (``pending``) checks the expiry."""
        return _move(self._run("hook_transition", token, "pending", to,
                               "1" if check_expiry else "0", "1" if spare_shielded else "0"))

    def settle(self, token: str, to: str) -> HookMove:
        """The engine's port: move a waiting hook to ``to``, or learn the claimed payload."""
        move = self.transition(token, to)
        return HookMove(move.moved, move.status, move.payload, move.rejected)

    def reopen(self, token: str, rejected: int, to: str = "pending") -> bool:
        """The engine's port: the run's model refused the payload of round ``rejected``;
        drop that claim and leave the hook ``to``. False when the hook is not
        ``received`` in that round (the refusal was already handled)."""
        return bool(self._run("hook_reopen", token, str(rejected), to))

    def claim(self, token: str, delivery: str, payload_text: str) -> Move:
        """Mark the hook ``received`` with this delivery's payload, if it is still pending."""
        return _move(self._run("hook_claim", token, delivery, payload_text))

    def release(self, token: str, delivery: str) -> bool:
        """Undo this delivery's own claim (its message was not sent); False if not held."""
        return bool(self._run("hook_release", token, delivery))

    def close_run_hooks(self, run_id: str) -> list[str]:
        """Move every pending, unshielded hook of the run to ``cancelled``; the tokens
        moved."""
        members = self._redis.smembers(keys.run_hooks(self._prefix, run_id))
        tokens = sorted(_text(t) for t in members)
        return [t for t in tokens if self.transition(t, "cancelled", spare_shielded=True).moved]

    def read(self, token: str) -> HookInfo | None:
        return hook_info_from_record(token, self._redis.hgetall(keys.hook(self._prefix, token)))

    def list_records(self, status: str | None = None, run_id: str | None = None,
                     limit: int = 100) -> list[HookInfo]:
        """Newest first, filtered by status and run; one round trip per page of records."""
        redis, prefix = self._redis, self._prefix
        out: list[HookInfo] = []
        offset = 0
        while len(out) < limit:
            tokens = [_text(raw) for raw in
                      redis.zrevrange(keys.hooks_index(prefix), offset, offset + LIST_PAGE - 1)]
            if not tokens:
                break
            offset += LIST_PAGE
            pipe = redis.pipeline(transaction=False)
            for token in tokens:
                pipe.hgetall(keys.hook(prefix, token))
            for token, raw in zip(tokens, pipe.execute(), strict=True):
                info = hook_info_from_record(token, raw)
                if info is None:
                    continue
                if (status is None or info.status == status) and \
                        (run_id is None or info.run_id == run_id):
                    out.append(info)
                    if len(out) >= limit:
                        break
        return out
