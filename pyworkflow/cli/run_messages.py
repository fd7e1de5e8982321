"""``pyworkflow runs signal|values``: messages to a run, and the values it publishes.

* ``signal`` sends through :func:`pyworkflow.client.send_signal`, so the command line
  refuses what the SDK refuses (an unknown or finished run, an empty name, a payload
  over the limits), each as one line with nothing sent. The payload is read by the
  checked JSON reader ``hooks resume`` uses.
* ``values`` reads the run's record (``set_value`` projects every current value
  there); ``--output json`` is one object, key -> value, or the value alone with KEY.
  ``--wait SECONDS`` waits for KEY to be set, woken by the run's journal.
"""

from __future__ import annotations

from typing import IO, Any

import click

from .. import client
from ..errors import RunFinishedError, RunNotFoundError, ValueNotSetError
from ..serialization import SerializationError
from . import _output as out
from ._payload import read_payload
from ._root import CliError
from .runs import load_run, runs
from .seconds import SECONDS


@runs.command("signal")
@click.argument("run_id")
@click.argument("name")
@click.option("--payload", "-p", metavar="JSON", help="The signal's payload, as JSON.")
@click.option("--payload-file", "-f", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help="Read the JSON payload from FILE ('-' for stdin).")
def signal(run_id: str, name: str, payload: str | None, payload_file: IO[str] | None) -> None:
    """Send run RUN_ID a signal NAME (its code takes it with wait_for_signal(NAME)).

    Signals that arrive before the run waits are kept, in order; each is delivered
    once. A run that has finished takes no signal (exit 1, nothing sent).

    \b
    Examples:
      pyworkflow runs signal run-1234 approve --payload '{"by": "ana"}'
      pyworkflow runs signal run-1234 stop
    """
    value = read_payload(payload, payload_file, required=False)
    if not name:
        raise CliError("a signal name is a non-empty string; nothing was sent")
    load_run(run_id)
    try:
        signal_id = client.send_signal(run_id, name, value)
    except RunNotFoundError:
        load_run(run_id)  # gone in between: the shared one-line error
        raise
    except (RunFinishedError, SerializationError) as exc:
        raise CliError(str(exc)) from None
    if out.is_json():
        out.emit_json({"run_id": run_id, "name": name, "signal_id": signal_id})
        return
    click.echo(f"Sent signal {name!r} to run {run_id} (id {signal_id}); the run takes it "
               f"when it waits for it. See it with: pyworkflow runs logs {run_id}")


@runs.command("values")
@click.argument("run_id")
@click.argument("key", required=False)
@click.option("--wait", "wait_s", type=SECONDS, metavar="SECONDS",
              help="With KEY: wait up to SECONDS for the run to set it.")
def values(run_id: str, key: str | None, wait_s: float | None) -> None:
    """Show the values run RUN_ID has published (set_value), or the one under KEY.

    \b
    Examples:
      pyworkflow runs values run-1234
      pyworkflow -o json runs values run-1234 progress --wait 30
    """
    if wait_s is not None and key is None:
        raise click.UsageError("--wait needs a KEY to wait for")
    load_run(run_id)
    if key is not None:
        _one_value(run_id, key, wait_s)
        return
    found = client.get_values(run_id)
    if out.is_json():
        out.emit_json(found)
        return
    if not found:
        click.echo(f"Run {run_id} has published no values (its code sets them with "
                   "set_value(key, value)).")
        return
    out.print_table(["KEY", "VALUE"], [[k, out.truncate(out.compact(v))] for k, v in found.items()])


def _one_value(run_id: str, key: str, wait_s: float | None) -> None:
    try:
        value: Any = client.get_value(run_id, key, timeout=wait_s)
    except (ValueNotSetError, TimeoutError) as exc:
        raise CliError(str(exc)) from None
    if out.is_json():
        out.emit_json(value)
    else:
        click.echo(out.compact(value))
