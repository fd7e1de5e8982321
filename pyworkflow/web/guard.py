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
  deployment's token (:mod:`.csrf`: every process of one deployment agrees on it),
  which only the dashboard's own pages hold (in a ``<meta>`` tag). Another site's
  page can neither read it nor send a custom header without a CORS preflight we
  never grant, and a request whose ``Origin`` is not one of the allowed hosts is
  refused as well.
* **Hosts.** The dashboard, its API, ``/metrics`` and ``/login`` answer only the
  ``Host`` names of :mod:`.hosts` (loopback, plus the ones configured), and an
  action's ``Origin`` is compared with those names, never with the request's own
  ``Host``, which a DNS-rebinding page chooses. ``POST /hooks/<token>`` and
  ``/healthz`` answer any ``Host``: they give nothing away without a hook's token
  (the credential itself), and a hook server behind a proxy gets whatever name its
  callers use.
* **Sign-in attempts** are capped per client address (:mod:`.login_limit`).
* An empty or blank auth token is refused, not taken to mean "no token".
* Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.requests import Request

from .csrf import CsrfToken
from .hosts import AllowedHosts
from .login_limit import LoginLimit
from .replies import Reply

__all__ = ["AUTH_COOKIE", "AUTH_ENV", "Guard", "auth_token_setting", "env_flag"]

AUTH_COOKIE = "pyworkflow_auth"
AUTH_ENV = "PYWORKFLOW_WEB_AUTH_TOKEN"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def auth_token_setting(given: str | None) -> str | None:
    """The auth token: ``given``, else ``PYWORKFLOW_WEB_AUTH_TOKEN``, else None. A blank
    one, given or in the environment, is a ``ValueError``: someone meant to set a
    token, and taking it as "no token" would open the dashboard."""
    source = "the auth token"
    if given is None:
        given = os.environ.get(AUTH_ENV)
        source = AUTH_ENV
    if given is not None and not given.strip():
        raise ValueError(f"{source} is empty; set a long random token, or unset it "
                         "to serve the dashboard without one (loopback only)")
    return given


@dataclass
class Guard:
    actions: bool = False
    auth_token: str | None = None
    hosts: AllowedHosts = field(default_factory=AllowedHosts)
    login_limit: LoginLimit = field(default_factory=LoginLimit)
    csrf: CsrfToken = field(init=False)

    def __post_init__(self) -> None:
        self.csrf = CsrfToken(self.auth_token)

    @classmethod
    def from_settings(cls, actions: bool | None, auth_token: str | None,
                      allowed_hosts: Iterable[str] | None = None) -> Guard:
        if actions is None:
            actions = env_flag("PYWORKFLOW_WEB_ACTIONS")
        return cls(actions=actions, auth_token=auth_token_setting(auth_token),
                   hosts=AllowedHosts.of(allowed_hosts))

    @property
    def csrf_token(self) -> str:
        return self.csrf.value()

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
        if origin is not None and not self.hosts.origin_ok(origin):
            raise Reply(403, {"error": "cross-origin request refused"})
