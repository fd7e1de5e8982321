"""Errors about hooks, and how much of a token they show: pure, no I/O.

Tokens are credentials: exception messages built here carry only their first
characters (:func:`short_token`); the exception's ``.token`` attribute keeps the
full token for the code that caught it. The engine (a hook's timeout) and the
client (a refused delivery) build their errors here.
"""

from __future__ import annotations

from typing import TypeVar

from .errors import HookAlreadyReceivedError, HookExpiredError, HookNotFoundError
from .hook_info import HookInfo

E = TypeVar("E", HookAlreadyReceivedError, HookExpiredError, HookNotFoundError)

#: How many characters of a token messages and logs show.
TOKEN_SHOWN = 6


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
