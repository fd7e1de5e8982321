"""``workflows run`` without workers: a local (durable, in-memory) or transient run.

``--runtime local`` and ``--no-durable`` (or a ``@workflow(durable=False)``) run the
workflow in this command's process and print its outcome, so the seed README's
commands work on a laptop with no Redis and no worker. Nothing here touches the
runtime (``_runtime.runtime()``), which is what would resolve and reach Redis.
"""

from __future__ import annotations

from typing import Any

import click

from .. import serialization
from ..local_runtime import IN_MEMORY_NOTE, LocalRuntime
from ..transient import run_transient
from . import _output as out
from ._root import CliError


def runtime_option() -> str:
    return str(click.get_current_context().find_root().obj.get("runtime") or "celery")


def run_transient_here(wf: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Call the workflow in this process, nothing journaled; exit 0 only if it returned."""
    if not out.is_json():
        click.echo(f"Running {wf.name} transient (in this process, nothing journaled)",
                   err=True)
    try:
        result = run_transient(wf.name, *args, **kwargs)
    except Exception as exc:
        _print_outcome(wf.name, "failed", None, {"type": type(exc).__name__,
                                                 "message": str(exc)})
        raise click.exceptions.Exit(1) from None
    _print_outcome(wf.name, "completed", result, None)


def run_local_here(wf: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Run the workflow durably in this process, printing its events as they happen."""
    json_mode = out.is_json()
    click.echo(IN_MEMORY_NOTE, err=True)
    top: list[str] = []

    def show(run_id: str, event: dict[str, Any]) -> None:
        if not json_mode and (not top or run_id == top[0]):
            click.echo(out.format_event(event))

    with LocalRuntime(on_event=show) as runtime:
        handle = runtime.start(wf.name, *args, **kwargs)
        top.append(handle.run_id)
        if not json_mode:
            click.echo(f"Started {wf.name}: run {handle.run_id} (local)", err=True)
        try:
            info = runtime.wait(handle.run_id)
        except KeyboardInterrupt:
            click.echo(f"Stopped: run {handle.run_id} ends with this process (its journal "
                       "was in memory); run the command again to start over", err=True)
            raise click.exceptions.Exit(130) from None
        except RuntimeError as exc:  # waiting on a hook or a signal nobody here can send
            raise CliError(f"{exc}. In the local runtime only this process can deliver it: "
                           "drive the run from code with pyworkflow.local_runtime."
                           "LocalRuntime, or use the celery runtime") from None
    if json_mode:
        out.emit_json(info.to_dict())
    else:
        error = info.error or {}
        _print_outcome(wf.name, info.status, info.result, error or None)
    raise click.exceptions.Exit(0 if info.status == "completed" else 1)


def _print_outcome(workflow: str, status: str, result: Any, error: dict[str, Any] | None) -> None:
    if out.is_json():
        try:
            encoded = serialization.encode(result, path=f"{workflow} result")
        except Exception:
            encoded = repr(result)
        out.emit_json({"workflow": workflow, "status": status, "result": encoded,
                       "error": error})
        return
    click.echo(f"Status: {status}")
    if status == "completed":
        click.echo(f"Result: {out.compact(result)}")
    elif error:
        click.echo(f"Error:  {error.get('type', 'Error')}: {error.get('message', '')}")
