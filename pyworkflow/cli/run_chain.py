"""``pyworkflow runs chain RUN_ID``: every run of a continue-as-new chain, oldest first."""

from __future__ import annotations

import click

from .. import client
from . import _output as out
from .runs import child_events, load_run, run_dict, runs


@runs.command("chain")
@click.argument("run_id")
def chain(run_id: str) -> None:
    """List the runs of RUN_ID's continue-as-new chain, oldest first (any run of it)."""
    load_run(run_id)  # the one-line error for an unknown run
    found = client.run_chain(run_id)
    if out.is_json():
        out.emit_json([run_dict(info, len(child_events(info.run_id))) for info in found])
        return
    out.print_table(["#", "RUN ID", "STATUS", "CREATED", "CONTINUED TO"],
                    [[i + 1, info.run_id, info.status, out.format_time(info.created_at),
                      info.continued_to or "-"] for i, info in enumerate(found)])
