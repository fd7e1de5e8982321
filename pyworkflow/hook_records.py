"""A hook's record in Redis: who waits on a token, its status, and the payload that won.

One hash per token, ``<prefix>:{hooks}:<token>``, whose status moves atomically from
``pending`` to ``received``, ``expired`` or ``cancelled`` (the Lua scripts beside this
file). A delivery *claims* the hook: the move to ``received`` and the payload it
carries are one write (``hook_claim.lua``), so the payload recorded is always the
one whose sender was told "accepted", however many senders race. A claim whose
message could not be sent is given back (``hook_release.lua``).

The run reads the winner's payload here too: when its hook times out or is
cancelled and the move fails because a delivery claimed the hook first, the
stored payload resolves the hook (see ``_waits`` and ``_cancel``), so an accepted
payload is recorded even if its message is still on its way or its sender died
before sending it.

A second set, ``<prefix>:{hooks}:run:<run_id>``, lists the tokens of each run, so
that a cancel can close the run's hooks at once (a token answers 410 as soon as
``cancel_workflow`` returns). Every key of this module shares the ``{hooks}`` hash
tag, and is built here only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._runtime import runtime

_SCRIPTS = {name: Path(__file__).with_name(f"{name}.lua").read_text()
            for name in ("hook_transition", "hook_claim", "hook_release")}


@dataclass
class HookInfo:
    token: str
    name: str
    run_id: str
    call_id: int
    status: str
    expires_at: float | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Move:
    """The outcome of a status move: ``moved``, the status now, and when the hook is
    ``received`` the winning delivery's payload as JSON text (None if not stored)."""

    moved: bool
    status: str
    payload: str | None = None


def hook_key(token: str) -> str:
    return f"{runtime().settings.key_prefix}:{{hooks}}:{token}"


def run_hooks_key(run_id: str) -> str:
    return f"{runtime().settings.key_prefix}:{{hooks}}:run:{run_id}"


def index_key() -> str:
    return f"{runtime().settings.key_prefix}:{{index}}:hooks"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _move(reply: list[Any]) -> Move:
    payload = reply[2] if len(reply) > 2 and reply[2] else None
    return Move(bool(reply[0]), _text(reply[1]), None if payload is None else _text(payload))


def _run(script: str, token: str, *args: str) -> list[Any]:
    reply: list[Any] = runtime().redis.eval(_SCRIPTS[script], 1, hook_key(token), *args)
    return reply


def record(token: str, run_id: str, call_id: int, name: str, expires_at_ms: int | None,
           shielded: bool = False) -> None:
    rt = runtime()
    now = time.time()
    pipe = rt.redis.pipeline(transaction=False)
    pipe.hset(hook_key(token), mapping={
        "run_id": run_id, "call_id": call_id, "name": name, "status": "pending",
        "expires_at_ms": "" if expires_at_ms is None else expires_at_ms, "created_at": repr(now),
        "shielded": "1" if shielded else "0"})
    pipe.zadd(index_key(), {token: now})
    pipe.sadd(run_hooks_key(run_id), token)
    pipe.execute()


def transition(token: str, to: str, check_expiry: bool = False,
               spare_shielded: bool = False) -> Move:
    """Move a ``pending`` hook to ``to``; a no-op move (``pending``) checks the expiry."""
    return _move(_run("hook_transition", token, "pending", to, "1" if check_expiry else "0",
                      "1" if spare_shielded else "0"))


def claim(token: str, delivery: str, payload_text: str) -> Move:
    """Mark the hook ``received`` with this delivery's payload, if it is still pending."""
    return _move(_run("hook_claim", token, delivery, payload_text))


def release(token: str, delivery: str) -> bool:
    """Undo this delivery's own claim (its message was not sent); False if not held."""
    return bool(runtime().redis.eval(_SCRIPTS["hook_release"], 1, hook_key(token), delivery))


def close_run_hooks(run_id: str) -> list[str]:
    """Move every pending, unshielded hook of the run to ``cancelled``; the tokens moved."""
    redis = runtime().redis
    tokens = sorted(_text(t) for t in redis.smembers(run_hooks_key(run_id)))
    return [t for t in tokens if transition(t, "cancelled", spare_shielded=True).moved]


def parse(token: str, raw: dict[bytes, bytes]) -> HookInfo | None:
    """A hook's record as read from its hash (None when the hash is gone)."""
    if not raw:
        return None
    f = {k.decode(): v.decode() for k, v in raw.items()}
    expires = f.get("expires_at_ms")
    status = f["status"]
    if status == "pending" and expires and int(expires) <= time.time() * 1000:
        status = "expired"
    return HookInfo(token, f["name"], f["run_id"], int(f["call_id"]), status,
                    int(expires) / 1000 if expires else None, float(f["created_at"]))


def read(token: str) -> HookInfo | None:
    return parse(token, runtime().redis.hgetall(hook_key(token)))
