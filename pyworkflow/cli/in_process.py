"""``workflows run`` without workers: a local (durable) or transient run.

``--runtime local`` and ``--no-durable`` (or a ``@workflow(durable=False)``) run the
workflow in this command's process and print its outcome, so the seed README's
commands work on a laptop with no Redis and no worker. Nothing here touches the
runtime (``_runtime.runtime()``), which is what would resolve and reach Redis.
"""

from __future__ import annotations

from typing import Any

import click

from .. import serialization
from ..local.environment import RunHandle
from ..local.journal import LocalRunError, open_local_journal
from ..local.runtime import LocalRuntime
from ..local.transient import run_transient
from ..worker import _runtime
from . import _output as out
from ._history import format_event
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


def run_local_here(wf: Any, args: list[Any], kwargs: dict[str, Any],
                   resume_id: str | None = None) -> None:
    """Run the workflow durably in this process, printing its events as they happen.
    Saved in Redis when one answers (so ``--resume RUN_ID`` continues it), else in
    memory."""
    json_mode = out.is_json()
    journal, where = open_local_journal(_runtime.config_file())
    click.echo(where, err=True)
    if resume_id is not None and journal is None:
        raise CliError("--resume needs the Redis the run was saved in, and none answers "
                       "(see the line above; the Redis is PYWORKFLOW_REDIS_URL, else "
                       "127.0.0.1:6379)")
    top: list[str] = []

    def show(run_id: str, event: dict[str, Any]) -> None:
        if not json_mode and (not top or run_id == top[0]):
            click.echo(format_event(event))

    try:
        with LocalRuntime(on_event=show, journal=journal) as runtime:
            handle = _begin(runtime, wf, args, kwargs, resume_id, top, json_mode)
            try:
                info = runtime.wait(handle.run_id)
            except KeyboardInterrupt:
                click.echo(_stopped_line(wf.name, handle.run_id, journal is not None), err=True)
                raise click.exceptions.Exit(130) from None
            except RuntimeError as exc:  # waiting on a hook or a signal nobody here can send
                raise CliError(f"{exc}. In the local runtime only this process can deliver "
                               "it: drive the run from code with pyworkflow.local.runtime."
                               "LocalRuntime, or use the celery runtime") from None
    except LocalRunError as exc:
        raise CliError(str(exc)) from None
    if json_mode:
        out.emit_json(info.to_dict())
    else:
        error = info.error or {}
        _print_outcome(wf.name, info.status, info.result, error or None)
    raise click.exceptions.Exit(0 if info.status == "completed" else 1)


def _begin(runtime: LocalRuntime, wf: Any, args: list[Any], kwargs: dict[str, Any],
           resume_id: str | None, top: list[str], json_mode: bool) -> RunHandle:
    """Start the run, or load the saved one and go on."""
    if resume_id is None:
        handle = runtime.begin(wf.name, *args, **kwargs)
        top.append(handle.run_id)
        if not json_mode:
            click.echo(f"Started {wf.name}: run {handle.run_id} (local)", err=True)
        return handle
    top.append(resume_id)
    handle = runtime.resume(resume_id, workflow=wf.name)
    if not json_mode:
        click.echo(f"Resumed {wf.name}: run {resume_id} (local, {len(handle.events())} "
                   "events already in its journal)", err=True)
    return handle


def _stopped_line(workflow: str, run_id: str, saved: bool) -> str:
    if not saved:
        return (f"Stopped: run {run_id} ends with this process (its journal was in memory); "
                "run the command again to start over")
    module = click.get_current_context().find_root().obj.get("module")
    command = " ".join(part for part in ("pyworkflow --runtime local",
                                         f"-m {module}" if module else "",
                                         f"workflows run {workflow} --resume {run_id}") if part)
    return f"Stopped: run {run_id} is saved; continue it with: {command}"


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
