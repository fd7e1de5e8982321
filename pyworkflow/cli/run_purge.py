"""``pyworkflow runs purge``: delete finished runs now (retention does it by itself).

The runs to purge are found by walking the runs index (``keys.runs_index``: run ids
scored by creation time) from its oldest end, a slice at a time: each round trip reads
``SLICE`` ids and their records' few fields, so the work per trip is bounded however
many runs there are, and every run is reached. (Listing the newest runs instead, as
this command once did, stopped after 10,000 of them: old runs behind 10,000 newer
ones were never purged, and the old ones are the ones to purge.)

The walk stops early: a run finishes after it was created, so a run created after the
cutoff cannot have finished before it. Creation and finish times come from different
machines' clocks (the client's, a worker's), so the walk goes ``CLOCK_SKEW_S`` past
the cutoff; each run's own ``finished_at`` still decides.

With no filter (no ``--status``, ``--workflow`` or ``--older-than``) the purge is every
finished run there is, which one mistyped command should not do: on a terminal it
asks first, saying how many runs it would delete; elsewhere (a script, a pipe) it
refuses unless ``--yes`` says the operator meant it. A filtered purge runs as it
always has. Either way it says how many runs it deleted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import click

from .. import keys
from ..durations import parse_duration
from ..run_info import TERMINAL_STATUSES
from ..worker import _runtime
from ..worker.retention import RunRetention
from . import _output as out
from ._root import CliError
from .runs import runs

#: Run ids read from the runs index per round trip.
SLICE = 500
#: How far past the cutoff (by creation time) the walk goes, for clocks that disagree.
CLOCK_SKEW_S = 600.0
_FIELDS = ("status", "finished_at", "workflow")


@dataclass(frozen=True)
class Found:
    run_id: str
    workflow: str
    status: str


@runs.command("purge")
@click.option("--older-than", "older_than", metavar="DURATION", default="0s",
              show_default=True, help="Only runs that finished at least this long ago.")
@click.option("--status", "-s", type=click.Choice(sorted(TERMINAL_STATUSES)),
              help="Only runs that ended this way.")
@click.option("--workflow", "-w", help="Only runs of this workflow.")
@click.option("--dry-run", is_flag=True, help="List what would be purged; delete nothing.")
@click.option("--yes", "-y", is_flag=True,
              help="With no filter: purge every finished run without asking (needed when "
                   "not on a terminal).")
def purge(older_than: str, status: str | None, workflow: str | None, dry_run: bool,
          yes: bool) -> None:
    """Delete every key of finished runs (journal, record, hooks, index entries).

    With no filter (--status, --workflow, --older-than) this asks first on a terminal
    and needs --yes elsewhere."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise CliError(f"--older-than: {exc}") from None
    cutoff = time.time() - age
    statuses = frozenset([status] if status else TERMINAL_STATUSES)
    rt = _runtime.runtime()
    if not (dry_run or yes or status or workflow or age > 0):
        _confirm_all(len(_matching(rt, cutoff, statuses, workflow)))
    retention = RunRetention(rt.redis, rt.settings.key_prefix, rt.system)
    found: list[Found] = []
    purged: list[str] = []
    walk = finished_before(rt.redis, rt.settings.key_prefix, rt.system.actor_keys, cutoff,
                           statuses, workflow)
    done: list[str] | None = None
    try:
        while True:
            batch = walk.send(done)
            found.extend(batch)
            done = [] if dry_run else [i.run_id for i in batch if retention.purge(i.run_id)]
            purged.extend(done)
    except StopIteration:
        pass
    if out.is_json():
        out.emit_json({"dry_run": dry_run, "matched": [i.run_id for i in found],
                       "purged": purged, "deleted": len(purged)})
        return
    if dry_run:
        for info in found:
            click.echo(f"{info.run_id}  {info.workflow}  {info.status}")
        click.echo(f"{len(found)} run(s) would be purged (dry run: nothing deleted)")
        return
    click.echo(f"purged {len(purged)} of {len(found)} finished run(s)")


def stdin_is_terminal() -> bool:
    """Whether someone can answer a prompt (a test stands in for a terminal here)."""
    return sys.stdin.isatty()


def _matching(rt: Any, cutoff: float, statuses: frozenset[str],
              workflow: str | None) -> list[Found]:
    """What a purge would delete, read without deleting (the count a prompt shows)."""
    found: list[Found] = []
    for batch in finished_before(rt.redis, rt.settings.key_prefix, rt.system.actor_keys,
                                 cutoff, statuses, workflow):
        found.extend(batch)
    return found


def _confirm_all(count: int) -> None:
    """An unfiltered purge: ask on a terminal, else refuse without ``--yes``."""
    if count == 0:
        return  # nothing to lose: the purge itself says "purged 0"
    if not stdin_is_terminal():
        raise CliError(f"runs purge with no filter deletes every finished run ({count} now); "
                       "pass --yes to do so without a terminal, or narrow it with --status, "
                       "--workflow or --older-than (--dry-run lists them)")
    if not click.confirm(f"Delete all {count} finished run(s) (no filter given)?",
                         default=False, err=True):
        click.echo("Nothing deleted.", err=True)
        raise click.exceptions.Exit(1)


def finished_before(client: Any, prefix: str, actor_keys: Any, cutoff: float,
                    statuses: frozenset[str], workflow: str | None,
                    slice_size: int = SLICE) -> Generator[list[Found], list[str] | None, None]:
    """The runs that finished (in ``statuses``, of ``workflow`` if given) at or before
    ``cutoff``, oldest created first, one slice of the index at a time.

    A generator the caller drives with ``send``: after each slice it sends back the ids
    of that slice it purged (None when nothing was), so the walk keeps its place in an
    index it is deleting from. The place is a (score, count) cursor, not a rank: runs
    removed behind it (by this purge, or by the workers' own retention sweeps) shift
    ranks but not scores."""
    index = keys.runs_index(prefix)
    low: float | str = "-inf"
    skip = 0  # ids at score ``low`` already looked at (and still in the index)
    high = cutoff + CLOCK_SKEW_S
    while True:
        rows = client.zrangebyscore(index, low, high, start=skip, num=slice_size,
                                    withscores=True)
        if not rows:
            return
        ids = [raw.decode() for raw, _ in rows]
        pipe = client.pipeline(transaction=False)
        for run_id in ids:
            pipe.hmget(actor_keys(run_id).record, _FIELDS)
        batch = [Found(run_id, (wf or b"?").decode(), st.decode())
                 for run_id, (st, fin, wf) in zip(ids, pipe.execute(), strict=True)
                 if st is not None and st.decode() in statuses
                 and _seconds(fin) <= cutoff and (workflow is None or wf == workflow.encode())]
        purged = yield batch
        gone = set(purged or ())
        last = rows[-1][1]
        at_last = [run_id for run_id, (_, score) in zip(ids, rows, strict=True)
                   if score == last and run_id not in gone]
        skip = (skip if low == last else 0) + len(at_last)
        low = last


def _seconds(raw: bytes | None) -> float:
    """A record's time field; a missing or unreadable one is never old enough."""
    try:
        return float(raw) if raw else float("inf")
    except ValueError:
        return float("inf")
