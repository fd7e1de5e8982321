"""Hooks: a run waits for a payload from outside, addressed by an unguessable token.

A token is 192 random bits, unrelated to the run id, created when the run first
reaches the hook (and recorded in its journal, so a replay reuses it). The token
maps to the run in a small Redis record (:mod:`pyworkflow.hook_store`) whose
status moves atomically from ``pending`` to ``received``, ``expired`` or
``cancelled``: exactly one delivery is accepted, and a late one gets its own clear
error. The payload travels to the run as an ordinary mailbox message.

Why a delivery *claims* the hook first and sends second (see :func:`resume_hook`):
the claim stores the payload with the status move, atomically, so when deliveries
race the one told "accepted" is the one the run records, and the run can read that
payload from the record itself when its hook times out or is cancelled while the
message is on its way. A claim whose send fails is given back (the hook is pending
again, and the sender's retry can deliver). A sender that dies between its claim and
its send leaves the hook ``received`` with the payload stored: the same payload sent
again is accepted again and re-sends the message (the message id is ``hook:<token>``,
so the run records it once); a different payload is refused as already received.

Payloads meet the one set of limits of :mod:`pyworkflow.serialization` (size,
depth) before anything changes, so what is accepted the worker can always decode.
They are encoded like any journal value: a delivered dict that happens to use the
codec's tag key comes back as that dict, not as a typed value.

Tokens are credentials: exception messages built here carry only their first
characters (:func:`short_token`); the exception's ``.token`` attribute keeps the
full token for the code that caught it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from . import serialization
from ._runtime import runtime
from .engine import in_workflow
from .engine.commands import HOOK
from .errors import HookAlreadyReceivedError, HookExpiredError, HookNotFoundError
from .hook_errors import TOKEN_SHOWN, hook_error, refusal_status, refused_hook, short_token
from .hook_info import HookInfo
from .hook_store import HookStore
from .ids import hook_message_id
from .ids import new_hook_token as new_token

__all__ = ["TOKEN_SHOWN", "HookInfo", "HookPayloadError", "TypedHook", "define_hook", "get_hook",
           "hook", "hook_error", "list_hooks", "new_token", "payload_errors", "refusal_status",
           "refused_hook",
           "resume_hook", "short_token"]

M = TypeVar("M")

_models: dict[str, Any] = {}


def _store() -> HookStore:
    return runtime().hooks


class HookPayloadError(ValueError):
    """A payload that does not fit the hook's model; the hook stays pending."""

    def __init__(self, name: str, errors: Any) -> None:
        super().__init__(f"payload refused by hook {name!r}: {errors}")
        self.name = name
        self.errors = errors


def payload_errors(exc: HookPayloadError) -> list[dict[str, Any]]:
    """The validation errors as plain JSON: location, message and error type only.

    Pydantic's error dicts also carry the offending ``input`` and ``ctx`` objects; those
    are dropped so the answer never reflects the payload back and always serialises.
    """
    raw = exc.errors
    if not isinstance(raw, list):
        return [{"loc": [], "msg": str(raw), "type": "invalid"}]
    shown: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            shown.append({"loc": [], "msg": str(item), "type": "invalid"})
            continue
        shown.append({"loc": [p if isinstance(p, int) else str(p) for p in item.get("loc", ())],
                      "msg": str(item.get("msg", "")), "type": str(item.get("type", "invalid"))})
    return shown


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


def record_hook(token: str, run_id: str, call_id: int, name: str,
                expires_at_ms: int | None, shielded: bool = False) -> None:
    _store().record(token, run_id, call_id, name, expires_at_ms, shielded)


def transition(token: str, to: str, check_expiry: bool = False) -> tuple[bool, str]:
    """Move a pending hook to ``to`` (an operator's or a test's move); ``(moved, status)``."""
    move = _store().transition(token, to, check_expiry)
    return move.moved, move.status


def get_hook(token: str) -> HookInfo:
    info = _store().read(token)
    if info is None:
        raise hook_error(HookNotFoundError, token)
    return info


def list_hooks(status: str | None = None, run_id: str | None = None,
               limit: int = 100) -> list[HookInfo]:
    """Newest first, filtered by status and run."""
    return _store().list_records(status, run_id, limit)


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


def checked_payload(name: str, payload: Any) -> Any:
    """The payload as the journal will hold it, within the limits the worker decodes."""
    checked = serialization.encode(_validate(name, payload), path="payload")
    serialization.check_limits(checked, "payload")
    return checked


def resume_hook(token: str, payload: Any = None) -> HookInfo:
    """Deliver ``payload`` to the run waiting on ``token``. Exactly one delivery wins.

    Raises HookNotFoundError (no such token), HookExpiredError (expired, or
    cancelled: its message and ``.status`` say which), HookAlreadyReceivedError
    (another payload won), HookPayloadError (the payload does not fit the hook's
    model) or :class:`~pyworkflow.serialization.PayloadError` (over the size or
    depth limits); nothing changes then. Any other error (Redis or the broker
    unreachable) leaves the hook pending, or received with this very payload if the
    process could not give its claim back; either way calling again with the same
    payload is safe (see the module docstring).
    """
    info = get_hook(token)
    if info.status not in ("pending", "received"):
        raise _refusal(token, info.status, info)
    checked = checked_payload(info.name, payload)
    text = json.dumps(checked, separators=(",", ":"), ensure_ascii=False)
    delivery = secrets.token_hex(12)
    move = _store().claim(token, delivery, text)
    if not move.moved and not (move.status == "received" and move.payload == text):
        raise _refusal(token, move.status, info)
    try:
        runtime().system.send(info.run_id, "hook-received",
                              {"token": token, "call_id": info.call_id, "payload": checked},
                              msg_id=hook_message_id(token))
    except BaseException:
        if move.moved:
            with contextlib.suppress(Exception):  # the send's error is the one to report
                _store().release(token, delivery)  # give the claim back: a retry can deliver
        raise
    info.status = "received"
    return info


def cancel_hooks(run_id: str) -> list[str]:
    """Close the run's pending hooks that a cancel interrupts (all but shielded ones).

    Called by ``cancel_workflow`` once the cancel is sent, so that from then on their
    tokens answer "cancelled" (410) instead of accepting a payload the run would only
    record because the cancel had not reached it yet. Returns the tokens closed.
    """
    return _store().close_run_hooks(run_id)


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
    return await HOOK.schedule(run, name, timeout, on_created)


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
