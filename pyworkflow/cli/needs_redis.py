"""A server down, said in one line: what a command that found Redis (or the broker)
not answering prints instead of a traceback, and the command group that says it.

Kombu is not imported here: a command that only reads Redis never loads it, and an
error can only be Kombu's when Kombu was loaded (``_broker_down``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors.redaction import redact

from ..config import redact_url
from ..worker import _runtime
from . import _output as out
from ._root import CliError

START_REDIS = "docker run -d --name redis -p 6379:6379 redis:7-alpine"


def short(exc: BaseException) -> str:
    """A driver's error, shortened; redacted before it is cut, so no cut can leave a
    piece of a credential the redactor would no longer recognise."""
    return out.truncate(redact(str(exc)).rstrip(".") or type(exc).__name__, 90)


def redis_fix(settings: Any) -> str:
    if settings.embedded:
        return f"see the embedded server's log in {os.path.join(settings.data_dir, 'redis.log')}"
    if os.environ.get("PYWORKFLOW_REDIS_URL", "").strip():
        return "start it, or unset PYWORKFLOW_REDIS_URL to use the embedded server"
    if settings.redis_url_configured:
        return ("start it, or remove redis_url from " + ", ".join(settings.sources)
                + " to use the embedded server")
    return f"start it ({START_REDIS}), or stop it so the embedded server is used"


def _broker_down(exc: BaseException) -> bool:
    """Kombu's ``OperationalError`` (the broker is not reachable), without importing
    Kombu: a process that never loaded it cannot have raised it."""
    kombu_exceptions = sys.modules.get("kombu.exceptions")
    return kombu_exceptions is not None and isinstance(exc, kombu_exceptions.OperationalError)


def server_down(exc: BaseException) -> bool:
    """Redis or the broker not answering (what ``unreachable`` explains)."""
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError)) or _broker_down(exc)


def unreachable(exc: Exception) -> str:
    """The one-line explanation for a command that found Redis or the broker down."""
    settings = _runtime.runtime().settings
    if _broker_down(exc) and settings.broker_url_configured:
        return (f"broker at {redact_url(settings.broker_url)} is not reachable ({short(exc)}): "
                "start it, or check PYWORKFLOW_BROKER_URL")
    where = redact_url(settings.redis_url) + (" (embedded)" if settings.embedded else "")
    return f"Redis at {where} is not answering ({short(exc)}): {redis_fix(settings)}"


class NeedsRedis(click.Group):
    """A command group whose commands talk to Redis: a server that is down is one line
    saying which server and how to fix it, not a bare ``ConnectionError``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:  # anything else (click's own exits included) goes on
            if not server_down(exc) or ctx.meta.get("pyworkflow.debug"):
                raise
            raise CliError(unreachable(exc)) from None
