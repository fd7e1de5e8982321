"""Which ``Host`` names the web app answers: the defence against DNS rebinding.

A page on ``attacker.example`` can point its own name at 127.0.0.1 once the browser
has loaded it; from then on the browser sends that page's requests to the local
dashboard, with ``Host: attacker.example``, as a same-origin page able to read the
answers. Refusing every ``Host`` we do not know ends that.

* Allowed: loopback names (``localhost``, ``127.x.y.z``, ``[::1]``), whatever the
  port, plus the names configured (``create_app(allowed_hosts=...)``,
  ``--allowed-host``, ``PYWORKFLOW_WEB_ALLOWED_HOSTS``, and the address ``pyworkflow
  web --host`` binds). A configured name matches any port; ``*`` allows every host
  (for an app behind a proxy that already checks it).
* Not checked: ``POST /hooks/<token>`` and ``GET /healthz``. They show nothing
  without a hook's token, which is the credential itself, and a hook server behind a
  proxy or load balancer receives whatever name its callers use. Everything else
  (the dashboard, its API, ``/metrics``, ``/static``, ``/login``) is checked.
* Starlette's ``TrustedHostMiddleware`` does not fit: its patterns cannot say "any
  127.x address", and it cannot leave the hook endpoint open. Its parser of the
  header, ``parse_host_header``, is Starlette's private helper, so the few lines of
  parsing are our own.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from .replies import Reply, json_reply

__all__ = ["ENV", "AllowedHosts", "HostCheck", "host_name", "hosts_from_env"]

ENV = "PYWORKFLOW_WEB_ALLOWED_HOSTS"
#: Paths (below the app's root) answered whatever the Host (see the module docstring).
OPEN_PATHS = ("/healthz",)
OPEN_PREFIXES = ("/hooks/",)


def hosts_from_env() -> list[str]:
    """``PYWORKFLOW_WEB_ALLOWED_HOSTS``, split on commas, blanks dropped."""
    return [h.strip() for h in os.environ.get(ENV, "").split(",") if h.strip()]


def host_name(netloc: str) -> str | None:
    """The name in a ``Host`` header or an origin's netloc, lower-case, without the
    port or IPv6 brackets; None when it cannot be one."""
    if not netloc or any(c in netloc for c in "/\\@ ?#"):
        return None
    if netloc.count(":") > 1 and not netloc.startswith("["):  # a bare IPv6 (--host ::)
        try:
            return str(ipaddress.ip_address(netloc))
        except ValueError:
            return None
    try:
        name = urlsplit(f"//{netloc}").hostname
    except ValueError:
        return None
    return name.rstrip(".").lower() if name else None


def is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AllowedHosts:
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, configured: Iterable[str] | None) -> AllowedHosts:
        """The configured names (``None``: the environment's), as ``host_name`` reads
        them; a name that cannot be a host is a ``ValueError`` now, not a refusal later."""
        names = set()
        for given in hosts_from_env() if configured is None else configured:
            text = given.strip()
            name = "*" if text == "*" else host_name(text)
            if not name:
                raise ValueError(f"not a host name: {given!r}")
            names.add(name)
        return cls(frozenset(names))

    def allows(self, netloc: str | None) -> bool:
        name = host_name(netloc or "")
        if name is None:
            return False
        return "*" in self.names or name in self.names or is_loopback(name)

    def origin_ok(self, origin: str) -> bool:
        """An ``Origin`` header names an allowed host (``null`` never does)."""
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and self.allows(parts.netloc)


class HostCheck:
    """A pure ASGI middleware: 400 ``{"error": ...}`` for a Host not allowed."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._open(scope):
            host = _header(scope, b"host")
            if not self.hosts.allows(host):
                reply = Reply(400, {"error": "this Host is not one the dashboard answers; "
                                             "add it with --allowed-host or "
                                             f"{ENV}", "host": (host or "")[:100]})
                await json_reply(reply)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _open(scope: Scope) -> bool:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None
