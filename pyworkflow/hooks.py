"""Hooks: a run waits for a payload from outside, addressed by an unguessable token.

A token is 192 random bits, unrelated to the run id, created when the run first
reaches the hook (and recorded in its journal, so a replay reuses it). The token
maps to the run in a small Redis hash whose status moves atomically from
``pending`` to ``received``, ``expired`` or ``cancelled``: exactly one delivery is
accepted, and a late one gets its own clear error. The payload then travels to
the run as an ordinary mailbox message.
"""

from __future__ import annotations

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

_TRANSITION = (Path(__file__).with_name("hook_transition.lua")).read_text()
_models: dict[str, Any] = {}


class HookPayloadError(ValueError):
    """A payload that does not fit the hook's model; the hook stays pending."""

    def __init__(self, name: str, errors: Any) -> None:
        super().__init__(f"payload refused by hook {name!r}: {errors}")
        self.errors = errors


def new_token() -> str:
    return secrets.token_urlsafe(24)


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


def get_hook(token: str) -> HookInfo:
    raw = runtime().redis.hgetall(_key(token))
    if not raw:
        raise HookNotFoundError(token)
    f = {k.decode(): v.decode() for k, v in raw.items()}
    expires = f.get("expires_at_ms")
    status = f["status"]
    if status == "pending" and expires and int(expires) <= time.time() * 1000:
        status = "expired"
    return HookInfo(token, f["name"], f["run_id"], int(f["call_id"]), status,
                    int(expires) / 1000 if expires else None, float(f["created_at"]))


def list_hooks(status: str | None = None, run_id: str | None = None,
               limit: int = 100) -> list[HookInfo]:
    tokens = runtime().redis.zrevrange(_index(), 0, -1)
    out: list[HookInfo] = []
    for raw in tokens:
        try:
            info = get_hook(raw.decode())
        except HookNotFoundError:
            continue
        if (status is None or info.status == status) and (run_id is None or info.run_id == run_id):
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

    Raises HookNotFoundError (no such token), HookExpiredError, HookAlreadyReceivedError,
    or HookPayloadError (the payload does not fit the hook's model; nothing changes).
    """
    info = get_hook(token)
    if info.status == "received":
        raise HookAlreadyReceivedError(token)
    if info.status != "pending":
        raise HookExpiredError(token)
    checked = _validate(info.name, payload)
    json.dumps(checked)  # refuse what the journal could not hold, before anything changes
    moved, status = transition(token, "received", check_expiry=True)
    if not moved:
        if status == "received":
            raise HookAlreadyReceivedError(token)
        if status == "missing":
            raise HookNotFoundError(token)
        raise HookExpiredError(token)
    runtime().system.send(info.run_id, "hook-received",
                          {"token": token, "call_id": info.call_id, "payload": checked},
                          msg_id=f"hook:{token}")
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
