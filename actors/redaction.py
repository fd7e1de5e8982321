"""Redaction: the one place that decides what of a credential may be shown.

Every path that can print a URL (log lines, ``Settings`` reprs, CLI messages,
exception texts from redis-py, Kombu or Celery) goes through :func:`redact`, so
there is one rule to test instead of one per printer. The rule, for each
``scheme://...`` in a text:

* the userinfo runs up to the **last** ``@`` of the URL, so a password with an
  unencoded ``/``, ``?``, ``#``, ``:`` or ``@`` is hidden whole, never in part;
  ``user:password`` keeps a plain user name, a bare ``token@host`` hides the
  token;
* query parameters that name a secret (``password=``, ``token=``, ...) are
  hidden, here and in any ``key=value`` or ``'key': 'value'`` outside a URL;
* any secret registered with :func:`register_secret` (the configured
  passwords, raw and percent-decoded) is hidden wherever it appears, which
  covers messages that quote a password without its URL.

When in doubt it hides too much: an ``@`` in a URL's path or query is taken for
the end of a userinfo (write it ``%40``). ``actors`` owns this module because
``actors.log`` uses it and ``actors`` never imports ``pyworkflow``.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import unquote

__all__ = ["MASK", "redact", "redact_url", "register_secret", "split_url"]

MASK = "***"
#: Registered secrets shorter than this are not replaced as free text (a password
#: "ab" would mask every "ab" in every line); their URL forms are still hidden.
MIN_SECRET_LEN = 4

# A URL in free text runs from its scheme to the next whitespace or quote.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>`]*", re.IGNORECASE)
_PLAIN_USER = re.compile(r"[A-Za-z0-9._-]*")
_FAILOVER = re.compile(r";(?=[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_SECRET_KEY = r"[a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|auth|api[_-]?key|credential)s?"
# key=value (query strings, reprs of keyword arguments) ...
_KEY_VALUE = re.compile(rf"(?P<key>\b{_SECRET_KEY})=(?P<value>[^&\s'\",)]+)", re.IGNORECASE)
# ... and 'key': 'value' / "key": "value" (dict reprs, JSON).
_KEY_QUOTED = re.compile(
    rf"(?P<key>['\"]{_SECRET_KEY}['\"]\s*:\s*)(?P<q>['\"])(?P<value>.*?)(?P=q)", re.IGNORECASE)

_secrets: set[str] = set()
_lock = threading.Lock()


def split_url(url: str) -> tuple[str, str | None, str]:
    """Split ``url`` into ``(scheme://, userinfo or None, rest)`` by our one rule.

    The userinfo ends at the last ``@`` (see the module docstring), so
    ``redis://:pa/ss@h/0`` gives ``("redis://", ":pa/ss", "h/0")`` where a
    standard parser would take ``:pa`` for a host and port.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, None, ""
    userinfo, at, after = rest.rpartition("@")
    if not at:
        return scheme + sep, None, rest
    return scheme + sep, userinfo, after


def _mask_userinfo(userinfo: str) -> str:
    """Keep a plain user name (``app:***``); anything else may be part of a secret."""
    user, colon, _password = userinfo.partition(":")
    if colon and _PLAIN_USER.fullmatch(user):
        return f"{user}:{MASK}"
    return f":{MASK}" if colon else MASK


def _mask_key_values(text: str) -> str:
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}={MASK}", text)
    return _KEY_QUOTED.sub(lambda m: f"{m['key']}{m['q']}{MASK}{m['q']}", text)


def redact_url(url: str) -> str:
    """Hide the credentials of one URL: ``redis://u:pw@h/0`` -> ``redis://u:***@h/0``.

    Kombu's failover lists (``url1;url2``) are redacted URL by URL.
    """
    failover = _FAILOVER.split(url)
    if len(failover) > 1:
        return ";".join(redact_url(one) for one in failover)
    scheme, userinfo, rest = split_url(url)
    if userinfo is not None:
        url = f"{scheme}{_mask_userinfo(userinfo)}@{rest}"
    return _mask_key_values(url)


def register_secret(secret: str | None) -> None:
    """Hide ``secret`` (and its percent-decoded form) in everything redacted from now on."""
    if not secret:
        return
    with _lock:
        for form in {secret, unquote(secret)}:
            if len(form) >= MIN_SECRET_LEN:
                _secrets.add(form)


def redact(text: str) -> str:
    """Hide every credential in ``text``: URLs, secret-named keys, registered secrets."""
    if _secrets:
        # Longest first, so a secret containing another is replaced whole.
        for secret in sorted(_secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text or ":" in text:
        text = _mask_key_values(text)
    return text
