"""Who may see the dashboard and act on runs: the auth token and the CSRF token.

* **Actions are off by default** (cancel, retry, resume a hook, signal): a
  dashboard is read-only unless ``create_app(actions=True)``, ``pyworkflow web
  --actions`` or ``PYWORKFLOW_WEB_ACTIONS=1`` turns them on.
* **Auth token.** With one set (``auth_token=``, ``--auth-token``,
  ``PYWORKFLOW_WEB_AUTH_TOKEN``), every dashboard page, API call and ``/metrics``
  needs it: ``Authorization: Bearer <token>`` (scrapers, scripts) or the cookie set
  by the login form (browsers; ``HttpOnly``, ``SameSite=Strict``). ``POST
  /hooks/<token>`` and ``/healthz`` stay open: a hook's token is its own
  credential. ``pyworkflow web`` refuses to listen beyond loopback without one.
* **CSRF.** Every action is a POST that must carry ``X-CSRF-Token`` equal to the
  app's random token, which only the dashboard's own pages hold (in a ``<meta>``
  tag). Another site's page can neither read it nor send a custom header without a
  CORS preflight we never grant, and a request whose ``Origin`` is not this host
  is refused as well.
* Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import Request

from .replies import Reply

__all__ = ["AUTH_COOKIE", "Guard", "env_flag"]

AUTH_COOKIE = "pyworkflow_auth"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Guard:
    actions: bool = False
    auth_token: str | None = None
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @classmethod
    def from_settings(cls, actions: bool | None, auth_token: str | None) -> Guard:
        if actions is None:
            actions = env_flag("PYWORKFLOW_WEB_ACTIONS")
        if auth_token is None:
            auth_token = os.environ.get("PYWORKFLOW_WEB_AUTH_TOKEN") or None
        return cls(actions=actions, auth_token=auth_token)

    def token_ok(self, given: str | None) -> bool:
        if self.auth_token is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(),
                                                         self.auth_token.encode())

    def signed_in(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and self.token_ok(header[7:].strip()):
            return True
        return self.auth_token is None or self.token_ok(request.cookies.get(AUTH_COOKIE))

    def check_action(self, request: Request) -> None:
        """Raise the refusal for an action this request may not take."""
        if not self.actions:
            raise Reply(403, {"error": "actions are off; start the dashboard with --actions "
                                       "(or PYWORKFLOW_WEB_ACTIONS=1) to allow them"})
        if not self.signed_in(request):
            raise Reply(401, {"error": "sign in first"})
        given = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(given.encode(), self.csrf_token.encode()):
            raise Reply(403, {"error": "missing or wrong CSRF token; reload the page"})
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            raise Reply(403, {"error": "cross-origin request refused"})
