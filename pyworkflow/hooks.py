"""Hooks: a run waits for a payload from outside, addressed by an unguessable token.

A token is 192 random bits, unrelated to the run id, created when the run first
reaches the hook (and recorded in its journal, so a replay reuses it). The token
maps to the run in a small Redis hash whose status moves atomically from
``pending`` to ``received``, ``expired`` or ``cancelled``: exactly one delivery is
accepted, and a late one gets its own clear error. The payload travels to the run
as an ordinary mailbox message.

Why a delivery sends first and marks the hook ``received`` second (see
:func:`resume_hook`): a delivery that stops in between (the broker refuses the
message, the process dies) must leave something a retry can finish. Sent first,
the message is the durable part and the status a record of it; a retry sends the
same message again, which is harmless (below), and then marks the hook. Marked
first, a failed send would lose the payload and turn every retry away as
"already received".

The message id is ``hook:<token>`` and nothing else, so every delivery to one
token is the same message to the run: it records exactly one, the first it
handles (in practice the first one sent), and drops the rest. Two *concurrent*
deliveries of different payloads to one token are therefore both sent, and the
one whose status change wins is not necessarily the one the run records; a
sender that needs to know which payload counted reads the run's journal
(``hook_received``).

Tokens are credentials: exception messages built here carry only their first
characters (:func:`short_token`); the exception's ``.token`` attribute keeps the
full token for the code that caught it.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ._context import in_workflow
from ._runtime import runtime
from .errors import HookAlreadyReceivedError, HookExpiredError, HookNotFoundError

M = TypeVar("M")
E = TypeVar("E", HookAlreadyReceivedError, HookExpiredError, HookNotFoundError)

_TRANSITION = (Path(__file__).with_name("hook_transition.lua")).read_text()
_models: dict[str, Any] = {}
#: How many hook records ``list_hooks`` reads per round trip.
LIST_PAGE = 100
#: How many characters of a token messages and logs show.
TOKEN_SHOWN = 6


class HookPayloadError(ValueError):
    """A payload that does not fit the hook's model; the hook stays pending."""

    def __init__(self, name: str, errors: Any) -> None:
        super().__init__(f"payload refused by hook {name!r}: {errors}")
        self.name = name
        self.errors = errors


def new_token() -> str:
    """192 random bits, URL-safe. Never starting with ``-``, so that a token pasted on a
    command line (``pyworkflow hooks resume TOKEN``) is not read as an option."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def short_token(token: str) -> str:
    """What messages and logs show of a token: enough to correlate, far too little to use."""
    return token[:TOKEN_SHOWN] + "…" if len(token) > TOKEN_SHOWN else token


def hook_error(cls: type[E], token: str, explanation: str | None = None,
               hook: HookInfo | None = None) -> E:
    """A hook error whose message names only the start of ``token``.

    The classes in :mod:`pyworkflow.errors` build their message from the token they
    are given, so they get the short form and ``.token`` is set to the full token
    afterwards. ``explanation`` replaces the class's fixed one (a cancelled hook
    raises ``HookExpiredError`` saying so). ``.status`` is the hook's status as the
    refusal saw it (``received``, ``expired``, ``cancelled`` or ``missing``) and
    ``.hook`` the hook's record when it was read, so a caller needs no second look.
    """
    shown = short_token(token)
    exc = cls(shown)
    if explanation is not None:
        exc.args = (f"hook {shown!r}: {explanation}",)
    status = {HookNotFoundError: "missing", HookAlreadyReceivedError: "received"}.get(
        cls, hook.status if hook is not None and hook.status != "pending" else "expired")
    vars(exc).update(token=token, status=status, hook=hook)  # pickled along (see errors.py)
    return exc


def refusal_status(exc: Exception) -> str:
    """``missing``, ``received``, ``expired`` or ``cancelled``: why a delivery was refused."""
    status = getattr(exc, "status", None)
    if isinstance(status, str):
        return status
    return "missing" if isinstance(exc, HookNotFoundError) else \
        "received" if isinstance(exc, HookAlreadyReceivedError) else "expired"


def refused_hook(exc: Exception) -> HookInfo | None:
    """The hook's record as the refusal saw it (None when it was not read)."""
    hook = getattr(exc, "hook", None)
    return hook if isinstance(hook, HookInfo) else None


def _refusal(token: str, status: str, hook: HookInfo | None) -> Exception:
    """The error for a hook found in ``status`` (anything but ``pending``)."""
    if hook is not None and hook.status != status:
        hook = dataclasses.replace(hook, status=status)
    if status == "missing":
        return hook_error(HookNotFoundError, token, hook=hook)
    if status == "received":
        return hook_error(HookAlreadyReceivedError, token, hook=hook)
    if status == "cancelled":
        return hook_error(HookExpiredError, token, "was cancelled (its run stopped waiting "
                          "for it); nothing can be delivered", hook=hook)
    return hook_error(HookExpiredError, token, hook=hook)


def _key(token: str) -> str:
    return f"{runtime().settings.key_prefix}:{{hooks}}:{token}"


def _index() -> str:
    return f"{runtime().settings.key_prefix}:{{index}}:hooks"


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


def record_hook(token: str, run_id: str, call_id: int, name: str,
                expires_at_ms: int | None) -> None:
    rt = runtime()
    now = time.time()
    pipe = rt.redis.pipeline(transaction=False)
    pipe.hset(_key(token), mapping={
        "run_id": run_id, "call_id": call_id, "name": name, "status": "pending",
        "expires_at_ms": "" if expires_at_ms is None else expires_at_ms, "created_at": repr(now)})
    pipe.zadd(_index(), {token: now})
    pipe.execute()


def transition(token: str, to: str, check_expiry: bool = False) -> tuple[bool, str]:
    moved, status = runtime().redis.eval(_TRANSITION, 1, _key(token), "pending", to,
                                         "1" if check_expiry else "0")
    return bool(moved), status.decode() if isinstance(status, bytes) else status


def _info(token: str, raw: dict[bytes, bytes]) -> HookInfo | None:
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


def get_hook(token: str) -> HookInfo:
    info = _info(token, runtime().redis.hgetall(_key(token)))
    if info is None:
        raise hook_error(HookNotFoundError, token)
    return info


def list_hooks(status: str | None = None, run_id: str | None = None,
               limit: int = 100) -> list[HookInfo]:
    """Newest first, filtered by status and run; one round trip per page of records."""
    redis = runtime().redis
    out: list[HookInfo] = []
    offset = 0
    while len(out) < limit:
        tokens = [raw.decode() for raw in
                  redis.zrevrange(_index(), offset, offset + LIST_PAGE - 1)]
        if not tokens:
            break
        offset += LIST_PAGE
        pipe = redis.pipeline(transaction=False)
        for token in tokens:
            pipe.hgetall(_key(token))
        for token, raw in zip(tokens, pipe.execute(), strict=True):
            info = _info(token, raw)
            if info is None:
                continue
            if (status is None or info.status == status) and \
                    (run_id is None or info.run_id == run_id):
                out.append(info)
                if len(out) >= limit:
                    break
    return out


def _validate(name: str, payload: Any) -> Any:
    model = _models.get(name)
    if model is None:
        return payload
    try:
        instance = model.model_validate(payload)
    except Exception as exc:
        errors = exc.errors() if hasattr(exc, "errors") else str(exc)  # pydantic
        raise HookPayloadError(name, errors) from None
    return instance.model_dump(mode="json")


def resume_hook(token: str, payload: Any = None) -> HookInfo:
    """Deliver ``payload`` to the run waiting on ``token``. Exactly one delivery wins.

    Raises HookNotFoundError (no such token), HookExpiredError (expired, or
    cancelled: its message and ``.status`` say which), HookAlreadyReceivedError, or
    HookPayloadError (the payload does not fit the hook's model; nothing changes).
    Any other error (Redis or the broker unreachable) leaves the hook pending, and
    calling again is safe: see the module docstring for why the message is sent
    before the hook is marked received, and which payload counts when two
    deliveries race.
    """
    info = get_hook(token)
    if info.status != "pending":
        raise _refusal(token, info.status, info)
    checked = _validate(info.name, payload)
    json.dumps(checked)  # refuse what the journal could not hold, before anything changes
    # The expiry, by the Redis clock, before anything is sent: pending -> pending is
    # a no-op move that fails once the hook's deadline has passed.
    moved, status = transition(token, "pending", check_expiry=True)
    if not moved:
        raise _refusal(token, status, info)
    runtime().system.send(info.run_id, "hook-received",
                          {"token": token, "call_id": info.call_id, "payload": checked},
                          msg_id=f"hook:{token}")
    # No expiry check now: the message is sent, and the run takes it unless its timeout
    # already fired, which moves the hook to ``expired`` first. So this move fails
    # exactly when the run will drop the message (expired or cancelled meanwhile), or
    # when a concurrent delivery marked it first (the run records one of the two).
    moved, status = transition(token, "received")
    if not moved:
        raise _refusal(token, status, info)
    info.status = "received"
    return info


async def hook(name: str, timeout: Any = None,
               on_created: Callable[[str], Any] | None = None) -> Any:
    """Suspend the run until a payload is delivered to this hook's token.

    ``on_created(token)`` runs once, after the hook is durably recorded (never on
    replay): send the token to whoever must answer. It must not await steps. With a
    ``timeout`` the wait raises ``HookExpiredError`` when it passes.
    """
    run = in_workflow()
    if run is None:
        raise RuntimeError("hook() can only be awaited inside a workflow")
    return await run.schedule_hook(name, timeout, on_created)


class TypedHook(Generic[M]):
    """A hook whose payload is validated by a pydantic model at delivery."""

    def __init__(self, name: str, model: type[M]) -> None:
        self.name = name
        self.model = model

    async def __call__(self, timeout: Any = None,
                       on_created: Callable[[str], Any] | None = None) -> M:
        payload = await hook(self.name, timeout=timeout, on_created=on_created)
        return self.model.model_validate(payload)  # type: ignore[attr-defined,no-any-return]


def define_hook(name: str, model: type[M]) -> TypedHook[M]:
    _models[name] = model
    return TypedHook(name, model)
