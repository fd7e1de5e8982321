"""Hooks, the app half: deliver a payload to a waiting run, read and list hooks.

A run waits for a payload from outside, addressed by an unguessable token (the
workflow half, ``hook`` and ``define_hook``, is :mod:`pyworkflow.workflow_api.hooks`).

A token is 192 random bits, unrelated to the run id, created when the run first
reaches the hook (and recorded in its journal, so a replay reuses it). The token
maps to the run in a small Redis record (:mod:`pyworkflow.worker.hook_store`) whose
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

A typed hook's payload is checked at the door, before the claim, by one function
(:func:`checked_payload`) that every way in calls (this module's
:func:`resume_hook`, and through it ``aio.resume_hook``, ``hooks resume``, the HTTP
endpoint and the dashboard): against the model where this process has it
(``define_hook`` ran here), else against the JSON Schema the engine stored with the
hook (:mod:`pyworkflow.hook_info`). A refusal is a :class:`HookPayloadError` naming
the fields, and the hook stays pending. The worker checks the payload with the model
again when the message arrives (the code may have changed since the schema was
stored): a payload it refuses is recorded as ``hook_payload_rejected`` and the hook
is put back to pending, so a bad payload never fails the run. Each such refusal
starts a new *round* of the hook (counted in its record): a delivery's message id
names its round (:func:`delivery_message_id`), so the next payload's message is not
taken for a repeat of the refused one.

Tokens are credentials: exception messages built here carry only their first
characters (:func:`short_token`); the exception's ``.token`` attribute keeps the
full token for the code that caught it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
from typing import TYPE_CHECKING, Any

from .. import limits, serialization, wire
from ..errors import (
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
    HookPayloadError,
)
from ..hook_errors import TOKEN_SHOWN, hook_error, refusal_status, refused_hook, short_token
from ..hook_info import HookInfo, model_problems, plain_problems, schema_of, schema_problems
from ..ids import hook_message_id
from ..ids import new_hook_token as new_token
from ..registry import hook_model as model_of
from ..worker._runtime import runtime
from .run_queries import check_limit

if TYPE_CHECKING:  # the store loads the engine's ports: a client that only reads needs neither
    from ..worker.hook_store import HookStore

__all__ = ["TOKEN_SHOWN", "HookInfo", "HookPayloadError", "checked_payload",
           "delivery_message_id", "get_hook", "hook_error", "list_hooks", "model_of",
           "new_token", "payload_errors", "refusal_status", "refused_hook", "resume_hook",
           "short_token"]

def _store() -> HookStore:
    return runtime().hooks


def payload_errors(exc: HookPayloadError) -> list[dict[str, Any]]:
    """The refusal's problems as plain JSON: location, message and error type only
    (already so when raised here; kept for errors built elsewhere)."""
    return plain_problems(exc.errors)


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
                expires_at_ms: int | None, shielded: bool = False,
                model: Any = None) -> None:
    """Write a hook's record as the engine does (tests, tools); ``model`` makes it typed,
    with that model's schema stored."""
    _store().record(token, run_id, call_id, name, expires_at_ms, shielded,
                    schema=None if model is None else schema_of(model), typed=model is not None)


def transition(token: str, to: str, check_expiry: bool = False) -> tuple[bool, str]:
    """Move a pending hook to ``to`` (an operator's or a test's move); ``(moved, status)``."""
    move = _store().transition(token, to, check_expiry)
    return move.moved, move.status


def get_hook(token: str) -> HookInfo:
    """The hook's record; ``HookNotFoundError`` for a token that names none, and, without
    asking Redis, for one that cannot be a token (``limits.is_id_form``: 1 to
    ``limits.MAX_ID_CHARS`` printable characters). ``resume_hook`` begins here."""
    if not limits.is_id_form(token):
        raise hook_error(HookNotFoundError, token if isinstance(token, str) else repr(token))
    info = _store().read(token)
    if info is None:
        raise hook_error(HookNotFoundError, token)
    return info


def list_hooks(status: str | None = None, run_id: str | None = None,
               limit: int = 100) -> list[HookInfo]:
    """Newest first, filtered by status and run (a ``run_id`` that cannot be a run id,
    ``limits.is_id_form``, has no hooks: Redis is not asked); ``limit``: 1 to
    ``MAX_LIST_LIMIT`` (10,000, as ``list_workflow_runs``), else ``ValueError``."""
    check_limit(limit)
    if run_id is not None and not limits.is_id_form(run_id):
        return []
    return _store().list_records(status, run_id, limit)


def checked_payload(name: str, payload: Any,
                    schema: dict[str, Any] | None = None) -> Any:
    """The payload as the journal will hold it, within the limits the worker decodes,
    once it fits the hook: :class:`HookPayloadError` (with every field named) if not.

    With the model registered in this process, the model decides and its JSON form
    (aliases included, so the worker's model reads it back) is what travels; the
    stored ``schema``, when there is one, must accept that form too. Without the
    model, the schema decides on the payload as given: it takes JSON's own types
    only (no ``"12"`` for an integer, which the model itself would coerce). With
    neither (an untyped hook, or a schema too large to store) any payload passes.
    """
    value = payload
    model = model_of(name)
    if model is not None:
        instance, problems = model_problems(model, payload)
        if problems:
            raise HookPayloadError(name, problems)
        value = instance.model_dump(mode="json", by_alias=True)
    if schema is not None:
        problems = schema_problems(schema, value)
        if problems:
            raise HookPayloadError(name, problems)
    checked = serialization.encode(value, path="payload")
    serialization.check_limits(checked, "payload")
    return checked


def delivery_message_id(token: str, rejected: int) -> str:
    """The id of the message that delivers a payload, once the run has refused
    ``rejected`` earlier ones: a resend of the same claim gets the same id (the run
    records it once), the claim after a refusal a new one."""
    base = hook_message_id(token)
    return base if rejected <= 0 else f"{base}:{rejected}"


def resume_hook(token: str, payload: Any = None) -> HookInfo:
    """Deliver ``payload`` to the run waiting on ``token``. Exactly one delivery wins.

    Raises HookNotFoundError (no such token), HookExpiredError (expired, or
    cancelled: its message and ``.status`` say which), HookAlreadyReceivedError
    (another payload won), HookPayloadError (the payload does not fit the hook's
    model or its stored schema: ``.errors`` names the fields) or
    :class:`~pyworkflow.serialization.PayloadError` (over the size or depth limits);
    nothing changes then. Any other error (Redis or the broker
    unreachable) leaves the hook pending, or received with this very payload if the
    process could not give its claim back; either way calling again with the same
    payload is safe (see the module docstring).
    """
    info = get_hook(token)
    if info.status not in ("pending", "received"):
        raise _refusal(token, info.status, info)
    checked = checked_payload(info.name, payload, info.payload_schema)
    text = json.dumps(checked, separators=(",", ":"), ensure_ascii=False)
    delivery = secrets.token_hex(12)
    move = _store().claim(token, delivery, text)
    if not move.moved and not (move.status == "received" and move.payload == text):
        raise _refusal(token, move.status, info)
    try:
        runtime().system.send(info.run_id, "hook-received",
                              wire.encode(wire.HookDelivery(token, info.call_id, checked)),
                              msg_id=delivery_message_id(token, move.rejected))
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
