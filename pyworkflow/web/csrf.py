"""The dashboard's CSRF token: one per deployment, not one per process.

A page served by one process must be able to act through another (``uvicorn
pyworkflow.web:app --workers 2``, several replicas behind a balancer), so every
process derives the same token:

* with an auth token set, an HMAC of it (the page shows the CSRF token; the HMAC
  cannot be turned back into the auth token);
* without one, a random secret stored once in Redis under the deployment's key
  prefix (``SET NX``: the first process to ask writes it, every other reads it).

Each app reads it once, on first use (the first page with actions on, or the first
action), and keeps it: no Redis call per request, and building an app
(``pyworkflow.web:app`` at import) touches no Redis at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from .. import keys
from ..worker._runtime import runtime

__all__ = ["CsrfToken"]

_LABEL = b"pyworkflow web csrf v1"


class CsrfToken:
    def __init__(self, auth_token: str | None) -> None:
        self._auth_token = auth_token
        self._value: str | None = None
        self._lock = threading.Lock()

    def value(self) -> str:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._derive()
        return self._value

    def _derive(self) -> str:
        if self._auth_token is not None:
            return hmac.new(self._auth_token.encode(), _LABEL, hashlib.sha256).hexdigest()
        rt = runtime()
        key = keys.web_csrf_secret(rt.settings.key_prefix)
        pipe = rt.redis.pipeline(transaction=True)  # write-if-absent and read, atomically
        pipe.set(key, secrets.token_urlsafe(32), nx=True)
        pipe.get(key)
        stored = pipe.execute()[1]
        return stored.decode() if isinstance(stored, bytes) else str(stored)
