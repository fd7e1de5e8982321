"""``pyworkflow web [--host] [--port] [--actions] [--auth-token-file] [--allowed-host]``.

The whole web app: the dashboard, ``/metrics``, ``POST /hooks/<token>`` and
``/healthz``, served by uvicorn in the foreground like ``hooks serve`` (same socket
handling, same clean stop on SIGTERM). It binds 127.0.0.1 unless told otherwise,
and refuses to listen on any other address without an auth token: the dashboard
shows every run's arguments and results. The token is never printed or logged.

The token is best given by ``PYWORKFLOW_WEB_AUTH_TOKEN`` or ``--auth-token-file``:
``--auth-token`` still works, but a command line is visible to every user of the
machine (``ps``). A blank token is refused rather than read as "no token".

The dashboard answers only loopback ``Host`` names, the ones given by
``--allowed-host`` / ``PYWORKFLOW_WEB_ALLOWED_HOSTS``, and the ``--host`` it binds
(see :mod:`pyworkflow.web.hosts`): the names a browser uses to reach it behind a
proxy or on another machine must be listed.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..worker._runtime import runtime
from . import _output as out
from ._root import CliError
from .needs_redis import unreachable


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


def _token_from(path: Path, given: str | None) -> str:
    """The token in ``path``; giving ``--auth-token`` as well is a mistake to say."""
    source = click.get_current_context().get_parameter_source("auth_token")
    if given is not None and source == click.core.ParameterSource.COMMANDLINE:
        raise CliError("give the auth token once: --auth-token or --auth-token-file")
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"cannot read --auth-token-file {path}: {reason}") from None


@click.command("web", cls=_NeedsRedisCommand)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --auth-token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--actions/--no-actions", default=None,
              help="Allow cancel, retry, signal and hook resume from the dashboard "
                   "(default: PYWORKFLOW_WEB_ACTIONS, else off).")
@click.option("--auth-token", envvar="PYWORKFLOW_WEB_AUTH_TOKEN", metavar="TOKEN",
              help="Require this token for the dashboard, its API and /metrics. Prefer "
                   "env PYWORKFLOW_WEB_AUTH_TOKEN or --auth-token-file: a command line "
                   "shows in ps.")
@click.option("--auth-token-file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="PATH", help="Read the auth token from this file (surrounding "
                                   "whitespace dropped).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="A Host name the dashboard answers besides loopback ones (repeatable; "
                   "env PYWORKFLOW_WEB_ALLOWED_HOSTS, comma-separated).")
def web(host: str, port: int, actions: bool | None, auth_token: str | None,
        auth_token_file: Path | None, allowed_hosts: tuple[str, ...]) -> None:
    """Serve the dashboard, /metrics and the hook endpoint until Ctrl-C or SIGTERM."""
    from ..web import create_app
    from ..web.guard import auth_token_setting
    from ..web.hosts import AllowedHosts, host_name, hosts_from_env
    from ..web.server import bind, serve, url_of

    if host_name(host) is None:
        raise CliError(f"--host {host!r} is not an address or a host name")
    if auth_token_file is not None:
        auth_token = _token_from(auth_token_file, auth_token)
    try:
        auth_token = auth_token_setting(auth_token)
        hosts = [*allowed_hosts, *hosts_from_env(), *([] if _loopback(host) else [host])]
        AllowedHosts.of(hosts)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not _loopback(host) and not auth_token:
        raise CliError(f"refusing to serve the dashboard on {host} without an auth token "
                       "(PYWORKFLOW_WEB_AUTH_TOKEN, --auth-token-file or --auth-token): it "
                       "shows every run's data")
    runtime().redis.ping()
    try:
        sock = bind(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CliError(f"cannot listen on {host}:{port}: {reason}") from None
    app = create_app(actions=actions, auth_token=auth_token, allowed_hosts=hosts)
    state = "on" if app.state.guard.actions else "off"
    names = ", ".join(["loopback", *sorted(app.state.guard.hosts.names)])
    out.note(f"Dashboard on {url_of(sock)}/ (actions {state}"
             f"{', auth token required' if auth_token else ''}; Host names: {names}); "
             "/metrics, POST /hooks/<token>; Ctrl-C to stop")
    serve(app, sock)
    out.note("Stopped.")
