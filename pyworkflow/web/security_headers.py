"""The headers every answer of the web app carries, so a browser keeps the pages safe.

* ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no other site can
  frame the dashboard and trick a click onto Cancel (clickjacking).
* The rest of the CSP allows only this origin's own script, style, images and
  fetches: the pages are a shell plus ``static/dashboard.js`` and
  ``static/dashboard.css``, and the script sets styles through the CSSOM, never
  inline, so a run's data that ever slipped into the markup could not run.
* ``X-Content-Type-Options: nosniff``: a JSON answer or a static file is never read
  as a script or a page. ``Referrer-Policy: no-referrer``: a link out of a run's page
  does not hand its address (a run id, a hook's path) to another site.

A pure ASGI middleware, so it covers every route, the static files and the errors
too. A header a handler set itself is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "HEADERS", "SecurityHeaders"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
_ENCODED = [(k.encode(), v.encode()) for k, v in HEADERS.items()]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _ENCODED if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
