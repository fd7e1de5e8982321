"""Every answer of the web app is JSON: one reply type, one renderer, one set of headers.

A check deep in a handler raises :class:`Reply` with the status it decided; the
handler renders it with :func:`json_reply`. Errors carry ``{"error": "...", ...}``.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .security_headers import HEADERS

__all__ = ["Reply", "http_error", "internal_error", "json_reply"]

#: The ``Server`` header: the product, no versions (nothing to fingerprint).
SERVER = "pyworkflow"


class Reply(Exception):
    """An answer decided early: raised by a check, rendered by the handler."""

    def __init__(self, status: int, body: dict[str, Any],
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def json_reply(reply: Reply) -> Response:
    headers = {"Cache-Control": "no-store", "Server": SERVER, **reply.headers}
    if reply.status >= 400:
        headers["Connection"] = "close"  # nothing left on the wire to desynchronise
    return JSONResponse(reply.body, status_code=reply.status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route, wrong method), in JSON like the rest."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    body: dict[str, Any] = {"error": "not found" if status == 404 else
                            exc.detail if isinstance(exc, HTTPException) else "internal error"}
    if status == 404:
        body["routes"] = request.app.state.routes_shown
    return json_reply(Reply(status, body, headers))


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug's answer: ``{"error": "internal error"}``, never a traceback. Starlette sends
    it from outside every middleware, so it carries the security headers itself."""
    reply = json_reply(Reply(500, {"error": "internal error"}))
    reply.headers.update(HEADERS)
    return reply
