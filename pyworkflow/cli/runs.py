"""``pyworkflow runs list|status|logs``: look at runs and their journals.

These commands read Redis only (no worker needed, no ``--module`` needed), so an
operator can inspect any run from any machine. :func:`follow_run` is shared with
``workflows run --wait``: both poll the journal from the last sequence number
seen, so each event is printed once, in commit order, as soon as it exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from .. import client
from ..errors import RunNotFoundError
from . import _output as out
from ._root import CliError, cli
from .setup import NeedsRedis

__all__ = ["EVENT_TYPES", "STATUSES", "follow_run", "load_run", "print_run"]

STATUSES = ("pending", "running", "suspended", "completed", "failed", "cancelled", "parked")
EVENT_TYPES = (
    "workflow_started", "step_scheduled", "step_retrying", "step_completed", "step_failed",
    "sleep_started", "sleep_completed", "workflow_completed", "workflow_failed",
    "workflow_parked", "cancel_requested", "workflow_cancelled",
)
#: Statuses after which following a run is pointless: terminal, or parked until an
#: operator intervenes (a parked run would otherwise be followed forever).
FINAL_STATUSES = frozenset(client.TERMINAL_STATUSES) | {"parked"}
POLL_SECONDS = 0.2


def load_run(run_id: str) -> Any:
    """The run's ``RunInfo``, or the one-line error every ``runs`` command shares."""
    try:
        return client.get_workflow_run(run_id)
    except RunNotFoundError:
        raise CliError(f"no run {run_id!r}. List runs with: pyworkflow runs list") from None


def follow_run(run_id: str, on_event: Callable[[dict[str, Any]], None], *, after_seq: int = 0,
               timeout: float | None = None, poll: float = POLL_SECONDS) -> tuple[Any, bool]:
    """Call ``on_event`` for each new journal event until the run is final.

    Returns ``(run_info, finished)``; ``finished`` is False when ``timeout`` ran
    out first. The status is read *before* the events of the same round: events
    and status are committed together, so once a final status is seen, reading
    the events afterwards is guaranteed to include the last one.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    last = after_seq
    while True:
        info = load_run(run_id)
        for event in client.get_workflow_events(run_id, after_seq=last):
            last = max(last, int(event["seq"]))
            on_event(event)
        if info.status in FINAL_STATUSES:
            return info, True
        if deadline is not None and time.monotonic() >= deadline:
            return info, False
        time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))


def _error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return "-"
    text = f"{error.get('type', 'Error')}: {error.get('message', '')}"
    traceback = (error.get("traceback") or "").rstrip()
    return f"{text}\n{traceback}" if traceback else text


def _arguments_text(args: list[Any], kwargs: dict[str, Any]) -> str:
    parts = [out.compact(a) for a in args or []]
    parts += [f"{k}={out.compact(v)}" for k, v in (kwargs or {}).items()]
    return ", ".join(parts) or "(none)"


_SHOWN = {"run_id", "workflow", "status", "args", "kwargs", "result", "error", "created_at",
          "updated_at", "parent_run_id", "waiting_on"}


def print_run(info: Any) -> None:
    """Every field of a run as ``Label: value`` lines (the result in full)."""
    created, updated = info.created_at, info.updated_at
    age = out.format_duration(updated - created) if created and updated else "-"
    fields = [
        ("Run", info.run_id), ("Workflow", info.workflow), ("Status", info.status),
        ("Arguments", _arguments_text(info.args, info.kwargs)),
        ("Result", out.compact(info.result) if info.status == "completed" else "-"),
        ("Error", _error_text(info.error)),
        ("Created", out.format_time(created)),
        ("Updated", f"{out.format_time(updated)}  ({age} after creation)"),
        ("Parent", info.parent_run_id or "-"),
        ("Waiting on", ", ".join(info.waiting_on or []) or "-"),
    ]
    # Fields the SDK adds later are shown too, rather than silently hidden.
    for key, value in info.to_dict().items():
        if key not in _SHOWN:
            fields.append((key.replace("_", " ").capitalize(), out.compact(value)))
    out.print_fields(fields)


@cli.group(cls=NeedsRedis)
def runs() -> None:
    """List runs, show their status and their event journal."""
    out.keep_stdout_clean()


@runs.command("list")
@click.option("--status", "-s", type=click.Choice(STATUSES), help="Only runs in this status.")
@click.option("--workflow", "-w", help="Only runs of this workflow.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=50, show_default=True)
def list_runs(status: str | None, workflow: str | None, limit: int) -> None:
    """List runs, newest first."""
    found = client.list_workflow_runs(status=status, workflow=workflow, limit=limit)
    if out.is_json():
        out.emit_json([info.to_dict() for info in found])
        return
    if not found:
        click.echo("No runs" + (" matching the filters." if status or workflow else " yet.")
                   + " Start one with: pyworkflow --module MODULE workflows run NAME")
        return
    out.print_table(
        ["RUN ID", "WORKFLOW", "STATUS", "CREATED", "UPDATED"],
        [[i.run_id, i.workflow, i.status, out.format_time(i.created_at),
          out.format_time(i.updated_at)] for i in found],
    )


@runs.command("status")
@click.argument("run_id")
def status(run_id: str) -> None:
    """Show everything about one run: status, arguments, result or error."""
    info = load_run(run_id)
    if out.is_json():
        out.emit_json(info.to_dict())
        return
    print_run(info)


@runs.command("logs")
@click.argument("run_id")
@click.option("--type", "-t", "types", multiple=True, metavar="TYPE",
              help="Only events of this type (repeatable), e.g. -t step_failed.")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new events until the run completes, fails or is cancelled.")
def logs(run_id: str, types: tuple[str, ...], follow: bool) -> None:
    """Show a run's journal, one line per event, oldest first."""
    load_run(run_id)  # an unknown id is an error, not an empty journal
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        click.echo(f"note: {', '.join(unknown)} not among the known event types "
                   f"({', '.join(EVENT_TYPES)})", err=True)
    wanted = set(types)
    shown: list[dict[str, Any]] = []

    def show(event: dict[str, Any]) -> None:
        if wanted and event.get("type") not in wanted:
            return
        shown.append(event)
        if not out.is_json():  # JSON mode prints one document at the end
            click.echo(out.format_event(event))

    if follow:
        _follow_interruptibly(run_id, show)
    else:
        for event in client.get_workflow_events(run_id):
            show(event)
    if out.is_json():
        out.emit_json(shown)
    elif not shown and not follow:
        click.echo("(no events" + (" of these types)" if wanted else " yet)"))


def _follow_interruptibly(run_id: str, show: Callable[[dict[str, Any]], None]) -> None:
    try:
        info, _ = follow_run(run_id, show)
    except KeyboardInterrupt:
        click.echo(f"Stopped following; the run goes on. Resume with: "
                   f"pyworkflow runs logs {run_id} --follow", err=True)
        raise click.exceptions.Exit(130) from None
    click.echo(f"Run {run_id} is {info.status}.", err=out.is_json())
