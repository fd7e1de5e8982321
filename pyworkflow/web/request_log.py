"""One log line per HTTP request, with every hook token in the path cut short.

A pure ASGI middleware (it wraps ``send`` to see the status), so it covers every
route of the app, the ones mounted later too. Handlers add fields (the hook's name,
the run id) to ``request.state.log_fields``. The full path is never logged: a path
is where a hook's token, the credential, travels.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors import log as _log

from ..client.hooks import TOKEN_SHOWN

__all__ = ["RequestLog", "redact_path"]

_PATH_TOKEN = re.compile(rf"(/hooks/[^/\s?#]{{0,{TOKEN_SHOWN}}})[^/\s?#]*")

logger = _log.get_logger("pyworkflow.web")


def redact_path(text: str) -> str:
    """Cut every ``/hooks/<token>`` in ``text`` down to the token's first characters."""
    return _PATH_TOKEN.sub(lambda m: m.group(1) + ("…" if m.group(0) != m.group(1) else ""),
                           text)


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status: list[int] = []

        async def send_seen(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            fields: dict[str, Any] = dict(scope.get("state", {}).get("log_fields") or {})
            fields.pop("ms", None)
            client = scope.get("client")
            logger.info("http_request", method=scope.get("method"),
                        path=redact_path(scope.get("path", "")),
                        status=status[0] if status else None,
                        ms=round((time.monotonic() - started) * 1000, 1),
                        client=client[0] if client else None, **fields)
