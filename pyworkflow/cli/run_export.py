"""``pyworkflow runs export RUN_ID > run.json``: a run's journal, for replay tests.

Writes the JSON list ``runs logs --output json`` prints (seq, type, timestamp,
data for every event, oldest first) whatever ``--output`` says, because the file
is for ``pyworkflow.testing.replay(path)``: keep a few exports of real runs in
your repository and a CI test will tell you when a code change would break the
runs in flight.
"""

from __future__ import annotations

import click

from .. import client
from . import _output as out
from .runs import load_run, runs


@runs.command("export")
@click.argument("run_id")
def export(run_id: str) -> None:
    """Write a run's journal as JSON (for pyworkflow.testing.replay).

    \b
    Example:
      pyworkflow runs export run-1234 > tests/histories/order-1234.json
    """
    load_run(run_id)  # an unknown id is an error, not an empty file
    out.emit_json(list(client.get_workflow_events(run_id)))
