"""``pyworkflow runs list|status|logs|children``: look at runs.

These commands read Redis only (no worker needed, no ``--module`` needed), so an
operator can inspect any run from any machine. :func:`follow_run` is shared with
``workflows run --wait``: both poll the journal from the last sequence number
seen, so each event is printed once, in commit order, as soon as it exists.

A run's children are read from its own journal (``child_started`` events), not
from an index: the journal is the source of truth and a child is listed even
before its first turn has written its run record (it shows as ``pending``).

The commands that act on a run (``runs cancel``, ``runs retry``) are in
:mod:`pyworkflow.cli.run_control`, in the same ``runs`` group.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import click

from .. import client, events, ids, limits
from ..client import RunInfo
from ..errors import RunNotFoundError
from ..event_text import EventReader
from ..run_info import SETTLED_STATUSES
from . import _output as out
from ._history import attempts_text, event_lines, line_width, root_cause
from ._root import CliError
from .app_log_lines import show_app_log
from .local_runs import local_list, local_run
from .needs_redis import NeedsRedis

__all__ = ["EVENT_TYPES", "STATUSES", "child_runs", "follow_run", "load_run", "print_run",
           "run_dict"]

STATUSES = ("pending", "running", "suspended", "completed", "failed", "cancelled", "parked",
            "continued_as_new")
#: Every event type a journal holds (``runs logs --type`` accepts each).
EVENT_TYPES = events.ALL
#: Statuses after which following a run is pointless: terminal, or parked until an
#: operator intervenes (a parked run would otherwise be followed forever).
FINAL_STATUSES = SETTLED_STATUSES
POLL_SECONDS = 0.2


def load_run(run_id: str) -> Any:
    """The run's ``RunInfo``, or the one-line error every ``runs`` command shares (also
    for an id that cannot be one, ``limits.is_id_form``, which the client refuses
    without asking Redis; its start only is shown)."""
    try:
        return client.get_workflow_run(run_id)
    except RunNotFoundError:
        shown = repr(run_id) if limits.is_id_form(run_id) else limits.shown(run_id)
        raise CliError(f"no run {shown}. List runs with: pyworkflow runs list") from None


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


_EPOCH_MS = re.compile(r"\b(until|at) (\d{12,14})\b")


def waiting_text(entry: str, now: float | None = None) -> str:
    """One ``waiting_on`` entry for people: ``sleep until 1795686331132`` becomes
    ``sleep until 2026-11-26 09:30:01 (in 3m5s)``; other entries are unchanged."""
    now = time.time() if now is None else now

    def human(match: re.Match[str]) -> str:
        at = int(match[2]) / 1000
        left = at - now
        when = f"in {out.format_duration(left)}" if left > 0 else "due"
        return f"{match[1]} {out.format_time(at)} ({when})"

    return _EPOCH_MS.sub(human, entry)


_SHOWN = {"run_id", "workflow", "status", "args", "kwargs", "result", "error", "created_at",
          "updated_at", "parent_run_id", "waiting_on", "finished_at"}
#: Step calls ``runs status`` lists with their attempts (the newest; ``runs logs`` has all).
STEP_CALLS_SHOWN = 20


def _other_value(value: Any) -> str:
    """A field the SDK added later: ``-`` for none, a string (an id) as itself."""
    if value is None or value == [] or value == {}:
        return "-"
    return value if isinstance(value, str) else out.compact(value)


def print_run(info: Any, children: int | None = None,
              history: EventReader | None = None) -> None:
    """Every field of a run as ``Label: value`` lines (the result in full).

    ``children`` is the number of child runs it started, when the caller counted them;
    ``history``, a reader fed the run's journal: a failed run then shows its root cause
    (the failing step's own traceback) and each step call's attempts.
    """
    created, updated, finished = info.created_at, info.updated_at, info.finished_at
    age = out.format_duration(updated - created) if created and updated else "-"
    fields = [
        ("Run", info.run_id), ("Workflow", info.workflow), ("Status", info.status),
        ("Arguments", _arguments_text(info.args, info.kwargs)),
        ("Result", out.compact(info.result) if info.status == "completed" else "-"),
        ("Created", out.format_time_local(created)),
        ("Updated", f"{out.format_time_local(updated)}  ({age} after creation)"),
    ]
    if finished is not None:
        took = out.format_duration(finished - created) if created else "-"
        fields.append(("Finished", f"{out.format_time_local(finished)}  (took {took})"))
    fields += [
        ("Parent", info.parent_run_id or "-"),
        ("Waiting on", ", ".join(waiting_text(w) for w in info.waiting_on or []) or "-"),
    ]
    if children is not None:
        fields.append(("Children", f"{children}  (list them with: pyworkflow runs children "
                                   f"{info.run_id})" if children else "0"))
    # Fields the SDK adds later are shown too, rather than silently hidden.
    for key, value in info.to_dict().items():
        if key not in _SHOWN:
            fields.append((key.replace("_", " ").capitalize(), _other_value(value)))
    fields.append(("Error", _error_text(info.error)))
    if history is not None and info.status in ("failed", "parked"):
        fields += _failure_fields(history)
    out.print_fields(fields)


def _failure_fields(history: EventReader) -> list[tuple[str, str]]:
    """The root cause and the step calls' attempts, newest calls last."""
    found: list[tuple[str, str]] = []
    if history.last_step_failure is not None:  # else the error above is the root cause
        found.append(("Root cause", root_cause(history) or "-"))
    calls = history.step_calls()
    if calls:
        hidden = len(calls) - STEP_CALLS_SHOWN
        text = attempts_text(calls[-STEP_CALLS_SHOWN:])
        if hidden > 0:
            text = f"({hidden} earlier step calls: pyworkflow runs logs)\n{text}"
        found.append(("Step attempts", text))
    return found


def child_events(run_id: str) -> list[dict[str, Any]]:
    """The ``child_started`` data of a run, once per child, in start order."""
    return _child_data(client.get_workflow_events(run_id))


def _child_data(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for event in journal:
        data = event.get("data") or {}
        if event.get("type") == events.CHILD_STARTED and data.get("child_run_id"):
            seen.setdefault(str(data["child_run_id"]), data)
    return list(seen.values())


def child_runs(run_id: str) -> list[tuple[dict[str, Any], RunInfo]]:
    """Each child a run started: its ``child_started`` data and its current state.

    A child whose record does not exist yet (its start message is committed but its
    first turn has not run) is ``pending``, which is what ``start`` reports too.
    """
    found = []
    for data in child_events(run_id):
        child_id = str(data["child_run_id"])
        try:
            info = client.get_workflow_run(child_id)
        except RunNotFoundError:
            info = RunInfo(child_id, str(data.get("workflow", "?")), "pending",
                           parent_run_id=run_id)
        found.append((data, info))
    return found


def _children_count(run_id: str) -> int:
    try:
        return len(child_events(run_id))
    except RunNotFoundError:  # a child not started yet has no journal
        return 0


def run_dict(info: RunInfo, children: int) -> dict[str, Any]:
    """What ``runs status -o json`` prints: the run's fields and its number of children."""
    return {**info.to_dict(), "children": children}


@click.group(cls=NeedsRedis)
def runs() -> None:
    """List runs, show their status and their event journal."""
    out.keep_stdout_clean()


@runs.command("list")
@click.option("--status", "-s", type=click.Choice(STATUSES), help="Only runs in this status.")
@click.option("--workflow", "-w", help="Only runs of this workflow.")
@click.option("--limit", "-n", type=click.IntRange(min=1, max=client.MAX_LIST_LIMIT), default=50,
              show_default=True, help=f"At most {client.MAX_LIST_LIMIT}.")
@click.option("--top-level", is_flag=True, help="Only runs that are not a child of another.")
@click.option("--schedule", "schedule_id", metavar="ID", help="Only runs this schedule started.")
@click.option("--local", "local", is_flag=True,
              help="The --runtime local runs saved in Redis instead, newest save first.")
def list_runs(status: str | None, workflow: str | None, limit: int, top_level: bool,
              schedule_id: str | None, local: bool) -> None:
    """List runs, newest first."""
    if local:
        if status or workflow or top_level or schedule_id:
            raise CliError("--local lists saved local runs with --limit only (no filters)")
        found = local_list(limit)
    elif top_level or schedule_id:
        sid = ids.schedule_id(schedule_id) if schedule_id else ""
        found = _top_level_runs(status, workflow, limit, lambda info: (
            (not top_level or info.parent_run_id is None)
            and (not sid or ids.is_run_of_schedule(info.run_id, sid))))
    else:
        found = client.list_workflow_runs(status=status, workflow=workflow, limit=limit)
    if out.is_json():
        out.emit_json([info.to_dict() for info in found])
        return
    if not found:
        filtered = status or workflow or top_level or schedule_id
        runtime = "--runtime local " if local else ""
        click.echo(("No saved local runs" if local else "No runs")
                   + (" matching the filters." if filtered else " yet.")
                   + f" Start one with: pyworkflow {runtime}--module MODULE workflows run NAME")
        return
    out.print_table(
        ["RUN ID", "WORKFLOW", "STATUS", "CREATED (UTC)", "UPDATED (UTC)"],
        [[i.run_id, i.workflow, i.status, out.format_time(i.created_at),
          out.format_time(i.updated_at)] for i in found],
    )


def _top_level_runs(status: str | None, workflow: str | None, limit: int,
                    keep: Callable[[RunInfo], bool] | None = None) -> list[RunInfo]:
    """Up to ``limit`` runs without a parent (or that ``keep`` keeps), newest first.

    The client has no parent filter, so ask for more runs until enough are top-level
    or there are no more; the request doubles each round, so a fan-out of thousands
    of children costs a few rounds, not one per page.
    """
    asked = limit
    while True:
        batch = client.list_workflow_runs(status=status, workflow=workflow, limit=asked)
        top = [info for info in batch
               if (keep(info) if keep else info.parent_run_id is None)]
        if len(top) >= limit or len(batch) < asked or asked >= client.MAX_LIST_LIMIT:
            return top[:limit]
        asked = min(asked * 2, client.MAX_LIST_LIMIT)


@runs.command("status")
@click.argument("run_id")
@click.option("--local", "local", is_flag=True,
              help="A --runtime local run saved in Redis (read only: it is not resumed).")
def status(run_id: str, local: bool) -> None:
    """Show everything about one run: status, arguments, result or error, parent, children.

    Times are UTC (ISO 8601) with the local time beside them. A failed run also shows
    its root cause (the failing step's own traceback) and each step call's attempts.
    """
    if local:
        info, journal = local_run(run_id)
    else:
        info = load_run(run_id)
        journal = client.get_workflow_events(run_id)
    children = len(_child_data(journal))
    if out.is_json():
        out.emit_json(run_dict(info, children))
        return
    history = EventReader()
    for event in journal:
        history.read(event)
    print_run(info, children, history)


@runs.command("logs")
@click.argument("run_id")
@click.option("--type", "-t", "types", multiple=True, metavar="TYPE",
              help="Only events of this type (repeatable), e.g. -t step_failed.")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new events until the run completes, fails or is cancelled.")
@click.option("--wide", is_flag=True,
              help="Never cut lines (they are cut to the terminal's width only on a TTY).")
@click.option("--app", "app", is_flag=True,
              help="The lines the run's code logged (get_logger() in the workflow, any "
                   "logging in its steps), not its journal.")
@click.option("--local", "local", is_flag=True,
              help="A --runtime local run saved in Redis (its journal as last saved).")
def logs(run_id: str, types: tuple[str, ...], follow: bool, wide: bool, app: bool,
         local: bool) -> None:
    """Show a run's journal, one line per event, oldest first.

    Each line: seq, time (UTC), type, call id (#N), and the fields of that event
    type; a failed step's traceback follows its line, indented. Lines are cut to the
    terminal's width only when stdout is a terminal and --wide is not given.
    With --app: the run's app log instead (its newest 1,000 lines).
    """
    if local and (follow or app):
        raise CliError("--local shows a saved local run's journal: not with --follow or --app")
    saved = local_run(run_id)[1] if local else None
    if not local:
        load_run(run_id)  # an unknown id is an error, not an empty journal
    if app:
        show_app_log(run_id)
        return
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        click.echo(f"note: {', '.join(unknown)} not among the known event types "
                   f"({', '.join(EVENT_TYPES)})", err=True)
    wanted = set(types)
    shown: list[dict[str, Any]] = []
    history = EventReader()  # reads every event: a shown end needs its hidden start
    width = line_width(wide)

    def show(event: dict[str, Any]) -> None:
        view = history.read(event)
        if wanted and event.get("type") not in wanted:
            return
        shown.append(event)
        if not out.is_json():  # JSON mode prints one document at the end
            for line in event_lines(view, width=width):
                click.echo(line)

    if follow:
        _follow_interruptibly(run_id, show)
    else:
        for event in saved if saved is not None else client.get_workflow_events(run_id):
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


@runs.command("children")
@click.argument("run_id")
def children(run_id: str) -> None:
    """List the child runs RUN_ID started, in start order, with their current status."""
    load_run(run_id)
    found = child_runs(run_id)
    if out.is_json():
        out.emit_json([run_dict(info, _children_count(info.run_id)) for _, info in found])
        return
    if not found:
        click.echo(f"Run {run_id} has started no child workflows.")
        return
    out.print_table(
        ["RUN ID", "WORKFLOW", "STATUS", "AWAITED", "ON PARENT CLOSE", "UPDATED"],
        [[info.run_id, info.workflow, info.status, "yes" if data.get("wait", True) else "no",
          data.get("policy") or "-", out.format_time(info.updated_at)] for data, info in found],
    )
