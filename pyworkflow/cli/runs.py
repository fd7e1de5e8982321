"""``pyworkflow runs list|status|logs|children|cancel|retry``: look at runs, stop or retry them.

These commands read Redis only (no worker needed, no ``--module`` needed), so an
operator can inspect any run from any machine. :func:`follow_run` is shared with
``workflows run --wait``: both poll the journal from the last sequence number
seen, so each event is printed once, in commit order, as soon as it exists.

A run's children are read from its own journal (``child_started`` events), not
from an index: the journal is the source of truth and a child is listed even
before its first turn has written its run record (it shows as ``pending``).

``retry --wait`` first waits for the run to *handle* the retry (a ``run_retried`` or
``workflow_resumed`` event after the request), then for a final status: a failed
run is still ``failed`` until then, and "failed" is final, so waiting for a final
status alone would return at once with the old failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, NoReturn

import click

from .. import client
from ..client import RunInfo
from ..errors import RunNotFoundError
from . import _output as out
from ._root import CliError, cli
from .setup import NeedsRedis

__all__ = ["EVENT_TYPES", "STATUSES", "child_runs", "follow_run", "load_run", "print_run",
           "run_dict"]

STATUSES = ("pending", "running", "suspended", "completed", "failed", "cancelled", "parked")
EVENT_TYPES = (
    "workflow_started", "step_scheduled", "step_retrying", "step_completed", "step_failed",
    "sleep_started", "sleep_completed", "workflow_completed", "workflow_failed",
    "workflow_parked", "cancel_requested", "workflow_cancelled", "hook_created",
    "hook_received", "hook_expired", "wait_cancelled", "child_started", "child_completed",
    "child_failed", "child_cancel_requested", "workflow_recovered", "workflow_resumed",
    "run_retried",
)
#: The statuses ``runs retry`` acts on (see ``client.retry_run``).
RETRYABLE_STATUSES = ("parked", "failed")
#: The events that show a run handled an operator's retry.
RETRY_EVENTS = frozenset({"run_retried", "workflow_resumed"})
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


_EPOCH_MS = re.compile(r"\b(until|at) (\d{12,14})\b")


def waiting_text(entry: str, now: float | None = None) -> str:
    """One ``waiting_on`` entry for people: ``sleep until 1795686331132`` becomes
    ``sleep until 2026-11-26 09:30:01 (in 3m05s)``; other entries are unchanged."""
    now = time.time() if now is None else now

    def human(match: re.Match[str]) -> str:
        at = int(match[2]) / 1000
        left = at - now
        when = f"in {out.format_duration(left)}" if left > 0 else "due"
        return f"{match[1]} {out.format_time(at)} ({when})"

    return _EPOCH_MS.sub(human, entry)


_SHOWN = {"run_id", "workflow", "status", "args", "kwargs", "result", "error", "created_at",
          "updated_at", "parent_run_id", "waiting_on"}


def print_run(info: Any, children: int | None = None) -> None:
    """Every field of a run as ``Label: value`` lines (the result in full).

    ``children`` is the number of child runs it started, when the caller counted them.
    """
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
        ("Waiting on", ", ".join(waiting_text(w) for w in info.waiting_on or []) or "-"),
    ]
    if children is not None:
        fields.append(("Children", f"{children}  (list them with: pyworkflow runs children "
                                   f"{info.run_id})" if children else "0"))
    # Fields the SDK adds later are shown too, rather than silently hidden.
    for key, value in info.to_dict().items():
        if key not in _SHOWN:
            fields.append((key.replace("_", " ").capitalize(), out.compact(value)))
    out.print_fields(fields)


def child_events(run_id: str) -> list[dict[str, Any]]:
    """The ``child_started`` data of a run, once per child, in start order."""
    seen: dict[str, dict[str, Any]] = {}
    for event in client.get_workflow_events(run_id):
        data = event.get("data") or {}
        if event.get("type") == "child_started" and data.get("child_run_id"):
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


@cli.group(cls=NeedsRedis)
def runs() -> None:
    """List runs, show their status and their event journal."""
    out.keep_stdout_clean()


@runs.command("list")
@click.option("--status", "-s", type=click.Choice(STATUSES), help="Only runs in this status.")
@click.option("--workflow", "-w", help="Only runs of this workflow.")
@click.option("--limit", "-n", type=click.IntRange(min=1, max=client.MAX_LIST_LIMIT), default=50,
              show_default=True, help=f"At most {client.MAX_LIST_LIMIT}.")
@click.option("--top-level", is_flag=True, help="Only runs that are not a child of another.")
def list_runs(status: str | None, workflow: str | None, limit: int, top_level: bool) -> None:
    """List runs, newest first."""
    if top_level:
        found = _top_level_runs(status, workflow, limit)
    else:
        found = client.list_workflow_runs(status=status, workflow=workflow, limit=limit)
    if out.is_json():
        out.emit_json([info.to_dict() for info in found])
        return
    if not found:
        filtered = status or workflow or top_level
        click.echo("No runs" + (" matching the filters." if filtered else " yet.")
                   + " Start one with: pyworkflow --module MODULE workflows run NAME")
        return
    out.print_table(
        ["RUN ID", "WORKFLOW", "STATUS", "CREATED", "UPDATED"],
        [[i.run_id, i.workflow, i.status, out.format_time(i.created_at),
          out.format_time(i.updated_at)] for i in found],
    )


def _top_level_runs(status: str | None, workflow: str | None, limit: int) -> list[RunInfo]:
    """Up to ``limit`` runs without a parent, newest first.

    The client has no parent filter, so ask for more runs until enough are top-level
    or there are no more; the request doubles each round, so a fan-out of thousands
    of children costs a few rounds, not one per page.
    """
    asked = limit
    while True:
        batch = client.list_workflow_runs(status=status, workflow=workflow, limit=asked)
        top = [info for info in batch if info.parent_run_id is None]
        if len(top) >= limit or len(batch) < asked or asked >= client.MAX_LIST_LIMIT:
            return top[:limit]
        asked = min(asked * 2, client.MAX_LIST_LIMIT)


@runs.command("status")
@click.argument("run_id")
def status(run_id: str) -> None:
    """Show everything about one run: status, arguments, result or error, parent, children."""
    info = load_run(run_id)
    children = len(child_events(run_id))
    if out.is_json():
        out.emit_json(run_dict(info, children))
        return
    print_run(info, children)


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


def _outcome(info: RunInfo, outcome: str, text: str, code: int = 0) -> NoReturn:
    """Print one outcome of ``runs cancel|retry`` (JSON: the run plus ``outcome``), exit."""
    if out.is_json():
        out.emit_json({**info.to_dict(), "outcome": outcome})
    else:
        click.echo(text)
    raise click.exceptions.Exit(code)


@runs.command("cancel")
@click.argument("run_id")
@click.option("--reason", "-r", metavar="TEXT", help="Why; recorded in the run's journal.")
@click.option("--wait", is_flag=True,
              help="Wait until the run has stopped; exit 1 unless it ends cancelled.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="With --wait: give up waiting after this long (exit 1; the cancellation "
                   "stays requested).")
def cancel(run_id: str, reason: str | None, wait: bool, timeout: float | None) -> None:
    """Cancel a run: it stops at its next checkpoint and runs its cleanup code.

    A sleep or hook wait is interrupted at once; a step already running finishes
    first. A run that has already finished is left unchanged (exit 0).

    \b
    Examples:
      pyworkflow runs cancel run-1234 --reason "Customer cancelled"
      pyworkflow runs cancel run-1234 --wait --timeout 60
    """
    if timeout is not None and not wait:
        raise click.UsageError("--timeout only applies with --wait")
    info = load_run(run_id)
    if info.finished:
        _outcome(info, "already_finished",
                        f"run {run_id} is already {info.status}; nothing changed")
    try:
        after = client.cancel_workflow(run_id, reason=reason)
    except RunNotFoundError:
        load_run(run_id)  # gone in between: the shared one-line error
        raise
    if after.finished and after.status != "cancelled":  # it finished before the request
        _outcome(after, "already_finished",
                        f"run {run_id} is already {after.status}; nothing changed")
    if not wait:
        _outcome(after, "requested",
                        f"Cancellation requested for run {run_id} (now {after.status}); it "
                        "stops at its next checkpoint.\n"
                        f"Wait for it with: pyworkflow runs cancel {run_id} --wait")
    _wait_cancelled(run_id, timeout)


def _wait_cancelled(run_id: str, timeout: float | None) -> None:
    out.note(f"Cancellation requested for run {run_id}; waiting for it to stop "
             "(Ctrl-C stops waiting, not the cancellation)")
    try:
        final = client.wait_for_run(run_id, timeout)
    except TimeoutError:
        current = load_run(run_id)
        _outcome(current, "timeout",
                        f"Timed out after {out.format_duration(timeout)}: run {run_id} is "
                        f"still {current.status}; the cancellation stays requested. Follow "
                        f"it with: pyworkflow runs logs {run_id} --follow", 1)
    except KeyboardInterrupt:
        click.echo(f"Stopped waiting; the cancellation of run {run_id} stays requested.",
                   err=True)
        raise click.exceptions.Exit(130) from None
    if final.status == "cancelled":
        _outcome(final, "cancelled", f"Run {run_id} is cancelled.")
    _outcome(final, "ended_" + final.status,
                    f"Run {run_id} ended {final.status}, not cancelled. Details: "
                    f"pyworkflow runs status {run_id}", 1)


@runs.command("retry")
@click.argument("run_id")
@click.option("--wait", is_flag=True,
              help="Wait until the run is finished (or parked again); exit 1 unless it "
                   "completes.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="With --wait: give up waiting after this long (exit 1; the retry stays "
                   "requested).")
def retry(run_id: str, wait: bool, timeout: float | None) -> None:
    """Retry a parked or failed run, once what stopped it is fixed.

    A parked run resumes where it stopped; a failed run re-opens from its failed
    step, which gets a new attempt (the failure stays in the journal, marked
    superseded). Both replay with the code the workers run now. A run in any other
    status is left unchanged and not waited for (exit 0; with --wait, exit 0 only if
    it is completed).

    \b
    Examples:
      pyworkflow runs retry run-1234
      pyworkflow runs retry run-1234 --wait --timeout 300
    """
    if timeout is not None and not wait:
        raise click.UsageError("--timeout only applies with --wait")
    deadline = None if timeout is None else time.monotonic() + timeout
    current = load_run(run_id)
    # The journal's end before the request: the retry's own events come after it.
    after_seq = _last_seq(run_id) if wait and current.status in RETRYABLE_STATUSES else 0
    try:
        before = client.retry_run(run_id)
    except RunNotFoundError:
        load_run(run_id)  # gone in between: the shared one-line error
        raise
    if before.status not in RETRYABLE_STATUSES:
        _outcome(before, "nothing_to_retry", f"run {run_id} is {before.status}; nothing to retry",
                 0 if not wait or before.status == "completed" else 1)
    follow = f"follow it with: pyworkflow runs logs {run_id} --follow"
    if before.status == "parked":
        text = (f"retry requested for parked run {run_id}: it resumes with the code the "
                f"workers run now; {follow}")
    else:
        text = (f"retry requested for failed run {run_id}: its failed step gets a new "
                f"attempt, with the code the workers run now; {follow}")
    if not wait:
        _outcome(before, "requested", text)
    out.note(text)
    _wait_retry_handled(run_id, after_seq, deadline)
    _wait_retried(run_id, deadline)


def _last_seq(run_id: str) -> int:
    return max((int(e["seq"]) for e in client.get_workflow_events(run_id)), default=0)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _retry_timeout(run_id: str, handled: bool) -> NoReturn:
    current = load_run(run_id)
    if handled:
        text = (f"Timed out: run {run_id} is still {current.status}. Follow it with: "
                f"pyworkflow runs logs {run_id} --follow")
    else:
        text = (f"Timed out: no worker has handled the retry of run {run_id} yet (is one "
                "running?); it stays requested and runs when a worker takes it")
    _outcome(current, "timeout", text, 1)


def _wait_retry_handled(run_id: str, after_seq: int, deadline: float | None) -> None:
    """Poll the journal until the run records that it took the retry."""
    try:
        while True:
            events = client.get_workflow_events(run_id, after_seq=after_seq)
            if any(e.get("type") in RETRY_EVENTS for e in events):
                return
            after_seq = max([after_seq, *(int(e["seq"]) for e in events)])
            left = _left(deadline)
            if left is not None and left <= 0:
                _retry_timeout(run_id, handled=False)
            time.sleep(POLL_SECONDS if left is None else min(POLL_SECONDS, left))
    except KeyboardInterrupt:
        _stopped_waiting(run_id)


def _stopped_waiting(run_id: str) -> NoReturn:
    click.echo(f"Stopped waiting; the retry of run {run_id} goes on.", err=True)
    raise click.exceptions.Exit(130)


def _wait_retried(run_id: str, deadline: float | None) -> None:
    try:
        final = client.wait_for_run(run_id, _left(deadline))
    except TimeoutError:
        _retry_timeout(run_id, handled=True)
    except KeyboardInterrupt:
        _stopped_waiting(run_id)
    if final.status == "completed":
        _outcome(final, "completed", f"Run {run_id} completed.")
    again = " again" if final.status == "parked" else ""
    _outcome(final, "ended_" + final.status,
             f"Run {run_id} is {final.status}{again}, not completed. Details: "
             f"pyworkflow runs status {run_id}", 1)
