"""``pyworkflow hooks list|info|resume|serve``: the hooks runs wait on, and answering them.

Why these rules:

* ``resume`` and ``serve`` check a typed hook's payload with or without
  ``--module``: against the JSON Schema the engine stored with the hook, and with
  the model itself when the module is given (``define_hook`` ran here). The one
  case the door cannot check is a typed hook whose schema was too large to store
  (``hook_info.MAX_SCHEMA_BYTES``); ``resume`` says so on stderr after delivering
  to one without ``--module`` (the worker still checks it, and a payload its model
  refuses leaves the hook pending: see :mod:`pyworkflow.client.hooks`).
* Every refusal of ``resume`` names the cause in one line (unknown token, expired,
  cancelled, already received, JSON that does not parse), except a typed hook's,
  which is one line and then one line per field it refused; each leaves the hook as
  it was, so the command can be fixed and run again. Like the SDK's errors, these
  lines show only the start of a token (``list`` and ``info`` show it whole:
  finding tokens is what they are for).
* ``info`` suggests a ``resume`` command whose payload is built from the hook's
  schema (each required field, with a placeholder of its type).
* ``serve`` runs the web app (:mod:`pyworkflow.web`) with uvicorn in the foreground,
  for a process manager to supervise; SIGTERM and Ctrl-C stop it after the requests
  in flight are answered (at most :data:`pyworkflow.web.server.GRACE_S` seconds).
  A port that is taken is a one-line error.
* A payload given on the command line meets the limits the HTTP endpoint and the
  worker apply (:func:`pyworkflow.serialization.parse_json`): what is accepted here
  the run can always decode.
"""

from __future__ import annotations

import os
import time
from typing import IO, Any

import click

from ..client import hooks as sdk
from ..client.run_queries import MAX_LIST_LIMIT
from ..errors import HookAlreadyReceivedError, HookExpiredError, HookNotFoundError
from ..hook_info import MAX_SCHEMA_BYTES, HookInfo, example_payload
from ..serialization import PayloadError
from ..worker._runtime import runtime
from . import _output as out
from ._payload import EXAMPLE_PAYLOAD, quoted_payload, read_payload
from ._root import CliError
from .needs_redis import NeedsRedis

HOOK_STATUSES = ("pending", "received", "expired", "cancelled")


def _no_hook(token: str) -> CliError:
    return CliError(f"no hook with token {sdk.short_token(token)!r}. List the waiting ones with: "
                    "pyworkflow hooks list --status pending")


def _load_hook(token: str) -> Any:
    try:
        return sdk.get_hook(token)
    except HookNotFoundError:
        raise _no_hook(token) from None


def _module_given() -> bool:
    root = click.get_current_context().find_root().obj or {}
    return bool(root.get("module"))


def _unchecked(hook: HookInfo) -> bool:
    """A typed hook that this process could not check: no schema stored, no model here."""
    return hook.typed and hook.payload_schema is None and sdk.model_of(hook.name) is None


def _payload_kind(hook: HookInfo) -> str:
    if not hook.typed:
        return "any JSON (an untyped hook)"
    if hook.payload_schema is None:
        return (f"typed; its schema is over {MAX_SCHEMA_BYTES // 1024} KB and was not stored, "
                "so only a door given --module (and the worker) can check it")
    return "typed: checked against its model's JSON Schema (--output json shows it)"


def _example(hook: HookInfo) -> str:
    """The payload ``info`` suggests, quoted for a POSIX shell."""
    if hook.payload_schema is None:
        return EXAMPLE_PAYLOAD
    return quoted_payload(example_payload(hook.payload_schema))


def _expiry_text(expires_at: float | None, status: str) -> str:
    if expires_at is None:
        return "never"
    left = expires_at - time.time()
    if status == "pending" and left > 0:
        return f"{out.format_time(expires_at)}  (in {out.format_duration(left)})"
    return f"{out.format_time(expires_at)}  ({'passed' if left <= 0 else 'not applicable'})"


@click.group(cls=NeedsRedis)
def hooks() -> None:
    """List the hooks runs wait on, deliver payloads to them, or serve them over HTTP."""
    out.keep_stdout_clean()


@hooks.command("list")
@click.option("--status", "-s", type=click.Choice(HOOK_STATUSES), help="Only hooks in this status.")
@click.option("--run-id", "-r", metavar="RUN_ID", help="Only the hooks of this run.")
@click.option("--limit", "-n", type=click.IntRange(min=1, max=MAX_LIST_LIMIT), default=100,
              show_default=True, help=f"At most this many (1 to {MAX_LIST_LIMIT:,}).")
def list_hooks(status: str | None, run_id: str | None, limit: int) -> None:
    """List hooks, newest first."""
    found = sdk.list_hooks(status=status, run_id=run_id, limit=limit)
    if out.is_json():
        out.emit_json([info.to_dict() for info in found])
        return
    if not found:
        click.echo("No hooks" + (" matching the filters." if status or run_id else " yet.")
                   + " A run creates one when it awaits hook(...).")
        return
    out.print_table(
        ["TOKEN", "NAME", "RUN ID", "STATUS", "EXPIRES", "CREATED"],
        [[i.token, i.name, i.run_id, i.status,
          out.format_time(i.expires_at) if i.expires_at is not None else "never",
          out.format_time(i.created_at)] for i in found],
    )


@hooks.command("info")
@click.argument("token")
def info(token: str) -> None:
    """Show one hook: its run, status and expiry, and how to resume it."""
    hook = _load_hook(token)
    if out.is_json():
        example = None if hook.payload_schema is None else example_payload(hook.payload_schema)
        out.emit_json({**hook.to_dict(), "payload_schema": hook.payload_schema,
                       "example_payload": example})
        return
    fields = [("Token", hook.token), ("Name", hook.name), ("Run", hook.run_id),
              ("Status", hook.status), ("Expires", _expiry_text(hook.expires_at, hook.status)),
              ("Created", out.format_time(hook.created_at)), ("Payload", _payload_kind(hook))]
    if hook.status == "pending":
        fields.append(("Resume it", f"pyworkflow hooks resume {hook.token} --payload "
                                    f"{_example(hook)}"))
    out.print_fields(fields)


def _describe_errors(exc: sdk.HookPayloadError) -> str:
    """One line per problem, indented under the error's first line."""
    lines = []
    for item in sdk.payload_errors(exc):
        where = ".".join(str(p) for p in item["loc"]) or "(payload)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


@hooks.command("resume")
@click.argument("token")
@click.option("--payload", "-p", metavar="JSON", help="The payload, as JSON.")
@click.option("--payload-file", "-f", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help="Read the JSON payload from FILE ('-' for stdin).")
def resume(token: str, payload: str | None, payload_file: IO[str] | None) -> None:
    """Deliver a payload to the run waiting on TOKEN (each hook takes one payload).

    \b
    Examples:
      pyworkflow -m app.flows hooks resume TOKEN --payload '{"approved": true}'
      curl -s https://... | pyworkflow -m app.flows hooks resume TOKEN --payload-file -
    """
    value = read_payload(payload, payload_file)
    shown = sdk.short_token(token)
    try:
        hook = sdk.resume_hook(token, value)
    except HookNotFoundError:
        raise _no_hook(token) from None
    except HookAlreadyReceivedError:
        raise CliError(f"hook {shown!r} already received a payload; a hook resumes its run "
                       "only once") from None
    except HookExpiredError as exc:
        status, seen = sdk.refusal_status(exc), sdk.refused_hook(exc)
        when = (f" at {out.format_time(seen.expires_at)}"
                if status == "expired" and seen is not None and seen.expires_at else "")
        of_run = f" (run {seen.run_id})" if seen is not None else ""
        raise CliError(f"hook {shown!r} is {status}{when}; nothing was delivered{of_run}"
                       ) from None
    except sdk.HookPayloadError as exc:
        raise CliError(f"payload refused by hook {exc.name!r}; nothing was delivered and "
                       f"the hook is still pending:\n{_describe_errors(exc)}") from None
    except PayloadError as exc:
        raise CliError(f"{exc}; nothing was delivered") from None
    if _unchecked(hook):
        click.echo(f"note: hook {hook.name!r} is typed but its schema was too large to store, "
                   "so the payload was not checked here; the worker checks it (a payload its "
                   "model refuses leaves the hook pending); pass --module to check it here",
                   err=True)
    if out.is_json():
        out.emit_json(hook.to_dict())
        return
    click.echo(f"Delivered to hook {hook.name!r} of run {hook.run_id}; the run resumes at its "
               "next turn.")
    click.echo(f"Follow it with: pyworkflow runs logs {hook.run_id} --follow")


@hooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0 picks a free one).")
def serve(host: str, port: int) -> None:
    """Accept hook payloads over HTTP until Ctrl-C or SIGTERM.

    \b
    POST /hooks/<token> with a JSON body -> 202 {"status": "accepted", "run_id": ...}
    GET  /healthz                        -> 200 {"ok": true}
    """
    from ..web import create_app
    from ..web.server import bind, serve, url_of

    runtime().redis.ping()  # Redis down is the group's one-line error, before listening
    try:
        sock = bind(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CliError(f"cannot listen on {host}:{port}: {reason}") from None
    if not _module_given():
        click.echo("note: no --module given: typed hooks' payloads are checked against the "
                   "JSON Schema stored with each hook (a schema over "
                   f"{MAX_SCHEMA_BYTES // 1024} KB is not stored: such a hook's payload is "
                   "checked by the worker only)", err=True)
    out.note(f"Listening on {url_of(sock)} (POST /hooks/<token>, GET /healthz); "
             "Ctrl-C to stop")
    serve(create_app(dashboard=False), sock)
    out.note("Stopped.")
