"""``pyworkflow schedules create|list|show|pause|resume|trigger|delete|backfill``.

``create`` needs ``--module`` (the workflow's signature checks ``--arg``, like
``workflows run``); the others only talk to the schedule's actor and record. Every
refusal (a bad cron expression or timezone, an unknown schedule, an id in use, a
value outside the limits of ``pyworkflow.schedules.limits``) is one line on stderr
and exit code 1, and nothing is written.

``list`` shows each schedule's origin: ``beat:proj.celery:app[entry]`` for one that
``import-beat`` made (``-`` for the others).

``backfill`` and ``trigger`` say how many firings they queued, "0 firings" plainly
when a backfill's range holds none (exit code 0: nothing went wrong, and the words
say nothing happened). A queued firing is the schedule actor's to start or skip
under its overlap policy. ``delete`` waits (``--wait``)
until the schedule's actor has deleted it and only then says "deleted"; otherwise
it says the request waits for a worker, with exit code 1. ``list`` shows a schedule
whose record cannot be read, or that is parked after its turns died, as ``error``
(with the reason below the table) instead of failing for every schedule.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ..errors import PyWorkflowError, WorkflowNotFoundError
from ..registry import get_workflow
from ..schedules import api
from ..schedules.info import ScheduleInfo
from ..schedules.origin import origins
from ..schedules.overlap import OVERLAP_POLICIES
from ..serialization import SerializationError
from . import _output as out
from ._arguments import ArgumentError, bind_arguments
from ._root import CliError
from .needs_redis import NeedsRedis
from .seconds import SECONDS


@click.group(cls=NeedsRedis)
def schedules() -> None:
    """Start workflows on a cron expression or an interval."""
    out.keep_stdout_clean()


def _refusals(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (PyWorkflowError, SerializationError, TypeError, ValueError) as exc:
        raise CliError(str(exc)) from None


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):  # a record from before the limits
        return f"out of range ({seconds:g})"


@schedules.command("create")
@click.argument("workflow")
@click.option("--cron", metavar="EXPR", help="A cron expression, e.g. '0 3 * * *'.")
@click.option("--interval", metavar="DURATION", help="e.g. 30s, 5m, 1h.")
@click.option("--arg", "-a", "arg_items", multiple=True, metavar="KEY=VALUE",
              help="A keyword argument of every run (repeatable).")
@click.option("--args-json", metavar="JSON", help="All arguments as JSON (object or list).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA name, for --cron.")
@click.option("--overlap", type=click.Choice(OVERLAP_POLICIES), default="skip",
              show_default=True, help="What a firing does while the previous run is going.")
@click.option("--schedule-id", metavar="ID", help="Its id (default: WORKFLOW-<random>).")
@click.option("--start-at", metavar="ISO", help="No firing before this.")
@click.option("--end-at", metavar="ISO", help="No firing after this.")
@click.option("--jitter", metavar="DURATION", help="Delay each firing by up to this.")
@click.option("--queue", metavar="NAME", help="Its runs' queue (default: the workflow's).")
@click.option("--priority", type=int, metavar="0-9",
              help="Its runs' priority, 9 first (default: the workflow's, else 5).")
def create(workflow: str, cron: str | None, interval: str | None, arg_items: tuple[str, ...],
           args_json: str | None, timezone: str, overlap: str, schedule_id: str | None,
           start_at: str | None, end_at: str | None, jitter: str | None, queue: str | None,
           priority: int | None) -> None:
    """Create a schedule that starts WORKFLOW.

    \b
    Examples:
      pyworkflow -m app.flows schedules create report --cron '0 3 * * *' --timezone Europe/Paris
      pyworkflow -m app.flows schedules create ping --interval 5m --arg url=https://x.io
    """
    if (cron is None) == (interval is None):
        raise click.UsageError("give exactly one of --cron and --interval")
    try:
        wf = get_workflow(workflow)
        args, kwargs = bind_arguments(wf.name, wf.signature, arg_items, args_json)
    except (WorkflowNotFoundError, ArgumentError) as exc:
        raise CliError(str(exc)) from None
    sid = _refusals(api.create_schedule, wf.name, cron=cron, interval=interval, args=args,
                    kwargs=kwargs, schedule_id=schedule_id, overlap=overlap,
                    timezone=timezone, start_at=start_at, end_at=end_at, jitter=jitter,
                    queue=queue, priority=priority)
    info = api.get_schedule(sid)
    if out.is_json():
        out.emit_json(info.to_dict())
        return
    click.echo(sid)
    out.note(f"{info.spec.describe()}, overlap {overlap}. Its runs: "
             f"pyworkflow runs list --schedule {sid}")


@schedules.command("list")
@click.option("--status", type=click.Choice(("active", "paused")), help="Only these.")
def list_(status: str | None) -> None:
    """List schedules, oldest first (at most the oldest 10,000: a note says how many
    more there are)."""
    found = _refusals(api.list_schedules, status)
    if out.is_json():
        came = _refusals(origins)
        out.emit_json([{**i.to_dict(), "origin": came.get(i.schedule_id)} for i in found])
        _unread_note(found)
        return
    if not found:
        if not found.truncated:
            click.echo("No schedules. Create one with: pyworkflow -m MODULE schedules "
                       "create WORKFLOW --interval 5m")
        _unread_note(found)
        return
    came_from = _refusals(origins)
    out.print_table(["SCHEDULE ID", "WORKFLOW", "WHEN", "OVERLAP", "STATUS", "NEXT", "RUNS",
                     "ORIGIN"],
                    [[i.schedule_id, i.workflow, i.spec.describe(), i.overlap,
                      "error (!)" if i.status == "error" else i.status,
                      _when(i.next_fire_at), i.fired, came_from.get(i.schedule_id, "-")]
                     for i in found])
    for info in found:
        if info.status == "error":
            out.note(f"{info.schedule_id}: {info.error or 'error'}; see: pyworkflow schedules "
                     f"show {info.schedule_id} (resume or delete it)")
    _unread_note(found)


def _unread_note(found: api.ScheduleList) -> None:
    """Say so when ``list_schedules`` stopped at its bound (``api.MAX_LISTED``)."""
    if found.truncated:
        out.note(f"only the oldest {api.MAX_LISTED:,} of {found.indexed:,} schedules were "
                 f"read: {found.unread:,} more are not listed")


@schedules.command("show")
@click.argument("schedule_id")
def show(schedule_id: str) -> None:
    """Everything about one schedule."""
    info: ScheduleInfo = _refusals(api.get_schedule, schedule_id)
    if out.is_json():
        out.emit_json(info.to_dict())
        return
    spec = info.spec
    out.print_fields([
        ("schedule", info.schedule_id), ("workflow", info.workflow), ("status", info.status),
        *([("error", info.error)] if info.error else []),
        ("when", spec.describe()), ("overlap", spec.overlap),
        ("route", f"queue {spec.route.queue}, priority {spec.route.priority}"),
        ("arguments", out.compact({"args": spec.args, "kwargs": spec.kwargs})),
        ("next firing", _when(info.next_fire_at)), ("last firing", _when(info.last_fire_at)),
        ("last run", info.last_run_id or "-"), ("running", ", ".join(info.running) or "-"),
        ("waiting firings", str(len(info.buffered))),
        ("runs started", str(info.fired)), ("firings skipped", str(info.skipped)),
    ])


def _simple(name: str, doc: str, call: Any, done: str) -> None:
    @schedules.command(name, help=doc)
    @click.argument("schedule_id")
    def command(schedule_id: str) -> None:
        _refusals(call, schedule_id)
        click.echo(f"{done}: {schedule_id}")


_simple("pause", "Stop firing until resumed (runs already going go on).", api.pause_schedule,
        "paused")
_simple("resume", "Fire again from now on (missed firings are not run).", api.resume_schedule,
        "resumed")


@schedules.command("trigger")
@click.argument("schedule_id")
def trigger(schedule_id: str) -> None:
    """Fire now, under the schedule's overlap policy."""
    queued = _refusals(api.trigger_schedule, schedule_id)
    if out.is_json():
        out.emit_json({"schedule_id": schedule_id, "queued": queued})
        return
    click.echo(f"trigger queued: {_firings(queued)} of {schedule_id}")
    out.note("the schedule's overlap policy decides whether it starts a run (skip skips "
             f"it while one is going): pyworkflow schedules show {schedule_id}")


def _firings(count: int) -> str:
    return f"{count} firing{'' if count == 1 else 's'}"


@schedules.command("delete")
@click.argument("schedule_id")
@click.option("--wait", default=10.0, show_default=True, type=SECONDS, metavar="SECONDS",
              help="How long to wait for the schedule's actor to delete it.")
def delete(schedule_id: str, wait: float) -> None:
    """Delete the schedule, whatever its status (its runs go on)."""
    if _refusals(api.delete_schedule, schedule_id, wait):
        click.echo(f"deleted: {schedule_id}")
        return
    raise CliError(f"delete sent, not yet done: {schedule_id} (no worker handled it within "
                   f"{wait:g}s; is one running? It is deleted when one does: pyworkflow "
                   f"schedules show {schedule_id})")


@schedules.command("backfill")
@click.argument("schedule_id")
@click.option("--start", required=True, metavar="ISO", help="From this time (inclusive).")
@click.option("--end", required=True, metavar="ISO", help="Up to this time (inclusive).")
@click.option("--overlap", type=click.Choice(OVERLAP_POLICIES), default="allow_all",
              show_default=True)
def backfill(schedule_id: str, start: str, end: str, overlap: str) -> None:
    """Start one run for every firing between --start and --end (at most 1,000 firings,
    none in the future; a wider range is refused: split it)."""
    sent = _refusals(api.backfill_schedule, schedule_id, start, end, overlap)
    if out.is_json():
        out.emit_json({"schedule_id": schedule_id, "queued": sent})
        return
    if not sent:
        click.echo(f"backfill queued 0 firings of {schedule_id}: the range {start} to {end} "
                   "holds no firing, so nothing was started")
        out.note("an interval schedule's firings count from its creation or its start_at")
        return
    click.echo(f"backfill sent: {_firings(sent)} of {schedule_id} from {start} to {end} "
               "(queued)")
    out.note("a firing that already has its run is not started again")
