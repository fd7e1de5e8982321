"""``pyworkflow runs cancel|retry``: act on a run (the ``runs`` group's control commands).

Both send the run a message and, with ``--wait``, follow it to an outcome; each
outcome is one line for people or, with ``--output json``, the run plus an
``outcome`` field, and an exit code a script can test.

``retry --wait`` first waits for the run to *handle* the retry (one of
``events.RETRIES``, after the request), then for a final status: a failed run is
still ``failed`` until then, and "failed" is final, so waiting for a final status
alone would return at once with the old failure.
"""

from __future__ import annotations

import time
from typing import NoReturn

import click

from .. import client, events
from ..client import RunInfo
from ..errors import RunNotFoundError
from . import _output as out
from .runs import POLL_SECONDS, load_run, runs
from .seconds import SECONDS

#: The statuses ``runs retry`` acts on (see ``client.retry_run``).
RETRYABLE_STATUSES = ("parked", "failed")


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
@click.option("--timeout", type=SECONDS, metavar="SECONDS",
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
@click.argument("run_id", required=False)
@click.option("--all-parked", is_flag=True,
              help="Retry every parked run (with --workflow: of that workflow) instead of one.")
@click.option("--workflow", "-w", help="With --all-parked: only runs of this workflow.")
@click.option("--wait", is_flag=True,
              help="Wait until the run is finished (or parked again); exit 1 unless it "
                   "completes.")
@click.option("--timeout", type=SECONDS, metavar="SECONDS",
              help="With --wait: give up waiting after this long (exit 1; the retry stays "
                   "requested).")
def retry(run_id: str | None, all_parked: bool, workflow: str | None, wait: bool,
          timeout: float | None) -> None:
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
      pyworkflow runs retry --all-parked --workflow order_workflow
    """
    if all_parked:
        if run_id is not None or wait or timeout is not None:
            raise click.UsageError("--all-parked takes no RUN_ID, --wait or --timeout")
        _retry_all_parked(workflow)
        return
    if run_id is None:
        raise click.UsageError("give a RUN_ID, or --all-parked")
    if workflow is not None:
        raise click.UsageError("--workflow only applies with --all-parked")
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


def _retry_all_parked(workflow: str | None) -> None:
    """One retry request per parked run (each resumes with the code the workers run
    now); a run that left ``parked`` meanwhile is listed with its status, unchanged."""
    parked = client.list_workflow_runs(status="parked", workflow=workflow,
                                       limit=client.MAX_LIST_LIMIT)
    done = []
    for info in parked:
        try:
            before = client.retry_run(info.run_id)
        except RunNotFoundError:
            continue  # purged meanwhile
        done.append((before, before.status == "parked"))
    if out.is_json():
        out.emit_json([{**b.to_dict(), "outcome": "requested" if ok else "nothing_to_retry"}
                       for b, ok in done])
        return
    if not done:
        click.echo("No parked runs" + (f" of workflow {workflow!r}." if workflow else "."))
        return
    out.print_table(["RUN ID", "WORKFLOW", "RETRY"],
                    [[b.run_id, b.workflow, "requested" if ok else f"skipped ({b.status})"]
                     for b, ok in done])
    out.note(f"Retry requested for {sum(ok for _, ok in done)} parked run(s); follow one "
             "with: pyworkflow runs logs RUN_ID --follow")


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
            journal = client.get_workflow_events(run_id, after_seq=after_seq)
            if any(e.get("type") in events.RETRIES for e in journal):
                return
            after_seq = max([after_seq, *(int(e["seq"]) for e in journal)])
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
