"""``pyworkflow web [--host] [--port] [--actions] [--auth-token]``: the whole web app.

The dashboard, ``/metrics``, ``POST /hooks/<token>`` and ``/healthz``, served by
uvicorn in the foreground like ``hooks serve`` (same socket handling, same clean
stop on SIGTERM). It binds 127.0.0.1 unless told otherwise, and refuses to listen
on any other address without an auth token: the dashboard shows every run's
arguments and results. The token is never printed or logged.
"""

from __future__ import annotations

import ipaddress
import os

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .._runtime import runtime
from . import _output as out
from ._root import CliError, cli
from .setup import unreachable


class _NeedsRedisCommand(click.Command):
    """Redis down is the same one line as for the other commands (``NeedsRedis``)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if ctx.meta.get("pyworkflow.debug"):
                raise
            raise CliError(unreachable(exc)) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command("web", cls=_NeedsRedisCommand)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --auth-token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--actions/--no-actions", default=None,
              help="Allow cancel, retry, signal and hook resume from the dashboard "
                   "(default: PYWORKFLOW_WEB_ACTIONS, else off).")
@click.option("--auth-token", envvar="PYWORKFLOW_WEB_AUTH_TOKEN", metavar="TOKEN",
              help="Require this token for the dashboard, its API and /metrics "
                   "(env PYWORKFLOW_WEB_AUTH_TOKEN).")
def web(host: str, port: int, actions: bool | None, auth_token: str | None) -> None:
    """Serve the dashboard, /metrics and the hook endpoint until Ctrl-C or SIGTERM."""
    from ..web import create_app
    from ..web.server import bind, serve, url_of

    if not _loopback(host) and not auth_token:
        raise CliError(f"refusing to serve the dashboard on {host} without --auth-token "
                       "(or PYWORKFLOW_WEB_AUTH_TOKEN): it shows every run's data")
    runtime().redis.ping()
    try:
        sock = bind(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CliError(f"cannot listen on {host}:{port}: {reason}") from None
    app = create_app(actions=actions, auth_token=auth_token)
    state = "on" if app.state.guard.actions else "off"
    out.note(f"Dashboard on {url_of(sock)}/ (actions {state}"
             f"{', auth token required' if auth_token else ''}); /metrics, "
             "POST /hooks/<token>; Ctrl-C to stop")
    serve(app, sock)
    out.note("Stopped.")
