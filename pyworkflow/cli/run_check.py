"""``pyworkflow --module M runs check``: would the code in M replay the runs in flight?

Run it before a deploy, with ``--module`` naming the *new* code: every run that has
not ended is replayed here, against that code, through the real engine
(:mod:`pyworkflow.local.determinism_check`; nothing is written, no step runs). Each run
that would diverge is reported with where and how; the exit code is 1 if any would,
so a deploy pipeline can stop on it. ``--output json`` is the list of those reports.
"""

from __future__ import annotations

import click

from . import _output as out
from ._root import CliError
from .runs import STATUSES, runs


def _module_given(ctx: click.Context) -> bool:
    root = ctx.find_root().obj or {}
    return bool(root.get("module"))


@runs.command("check")
@click.option("--workflow", "-w", help="Only runs of this workflow.")
@click.option("--status", "-s", type=click.Choice(STATUSES),
              help="Only runs in this status (default: every run that has not ended).")
@click.pass_context
def check(ctx: click.Context, workflow: str | None, status: str | None) -> None:
    """Replay runs against the code of --module and report any that would diverge.

    Exit 0 when every run replays the same; 1 when some would be parked by the
    new code (guard the change with patched() and check again).

    \b
    Example:
      pyworkflow --module app.flows runs check --workflow order_workflow
    """
    if not _module_given(ctx):
        raise CliError("runs check replays runs against your workflow code: give it with "
                       "pyworkflow --module MODULE runs check")
    from ..local import determinism_check  # the engine: loaded by this command only

    checked, found = determinism_check.check_runs(workflow=workflow, status=status)
    if out.is_json():
        out.emit_json([d.to_dict() for d in found])
    elif found:
        out.print_table(
            ["RUN ID", "WORKFLOW", "STATUS", "POSITION", "RECORDED", "ISSUED"],
            [[d.run_id, d.workflow, d.status, "-" if d.position is None else d.position,
              out.truncate(d.recorded, 50), out.truncate(d.issued, 50)] for d in found])
    summary = (f"Checked {checked} run(s): {len(found)} would diverge with this code"
               if found else f"Checked {checked} run(s): all replay the same with this code")
    out.note(summary)
    if found:
        raise click.exceptions.Exit(1)
