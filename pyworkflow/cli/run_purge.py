"""``pyworkflow runs purge``: delete finished runs now (retention does it by itself)."""

from __future__ import annotations

import time

import click

from .. import _runtime, client
from ..durations import parse_duration
from ..retention import RunRetention
from ..run_info import TERMINAL_STATUSES
from . import _output as out
from ._root import CliError
from .runs import runs


@runs.command("purge")
@click.option("--older-than", "older_than", metavar="DURATION", default="0s",
              show_default=True, help="Only runs that finished at least this long ago.")
@click.option("--status", "-s", type=click.Choice(sorted(TERMINAL_STATUSES)),
              help="Only runs that ended this way.")
@click.option("--workflow", "-w", help="Only runs of this workflow.")
@click.option("--dry-run", is_flag=True, help="List what would be purged; delete nothing.")
def purge(older_than: str, status: str | None, workflow: str | None, dry_run: bool) -> None:
    """Delete every key of finished runs (journal, record, hooks, index entries)."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise CliError(f"--older-than: {exc}") from None
    cutoff = time.time() - age
    statuses = [status] if status else sorted(TERMINAL_STATUSES)
    found = [info for s in statuses
             for info in client.list_workflow_runs(status=s, workflow=workflow,
                                                   limit=client.MAX_LIST_LIMIT)
             if info.finished_at is not None and info.finished_at <= cutoff]
    rt = _runtime.runtime()
    retention = RunRetention(rt.redis, rt.settings.key_prefix, rt.system)
    purged = [] if dry_run else [i.run_id for i in found if retention.purge(i.run_id)]
    if out.is_json():
        out.emit_json({"dry_run": dry_run, "matched": [i.run_id for i in found],
                       "purged": purged})
        return
    if dry_run:
        for info in found:
            click.echo(f"{info.run_id}  {info.workflow}  {info.status}")
        click.echo(f"{len(found)} run(s) would be purged (dry run: nothing deleted)")
        return
    click.echo(f"purged {len(purged)} of {len(found)} finished run(s)")
