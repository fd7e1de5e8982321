"""``runs logs RUN --app``: the lines a run's code logged, from its app log.

One line each, oldest first: time (ISO UTC, as every command prints times), level,
where it was logged (``step NAME#ATTEMPT``, else ``workflow``), the message and its
other fields as ``key=value``. An exception's text follows its line, indented. When
the cap trimmed older lines, a first line says how many (``pyworkflow.app_log``).
"""

from __future__ import annotations

import click

from ..app_log import AppLogLine
from ..worker._runtime import runtime
from ..worker.app_log_store import read_app_log
from . import _output as out

__all__ = ["app_log_line_text", "show_app_log"]


def app_log_line_text(line: AppLogLine) -> list[str]:
    """The terminal lines of one app log line (printable: an app's text may hold
    escape sequences)."""
    fields = dict(line.fields)
    step, attempt = fields.pop("step", None), fields.pop("attempt", None)
    exception = fields.pop("exception", None)
    where = f"step {step}#{attempt}" if step else "workflow"
    extra = "  ".join(f"{k}={out.compact(v)}" for k, v in fields.items())
    head = (f"{out.format_time(line.ts)}  {line.level.upper():<8} {where}  {line.message}"
            + (f"  {extra}" if extra else ""))
    text = [out.printable(head).replace("\n", "\\n")]
    if exception:
        text.extend("    " + out.printable(row) for row in str(exception).splitlines())
    return text


def show_app_log(run_id: str) -> None:
    rt = runtime()
    lines, dropped = read_app_log(rt.redis, rt.settings.key_prefix, run_id)
    if out.is_json():
        out.emit_json({"run_id": run_id, "dropped": dropped,
                       "lines": [line.to_dict() for line in lines]})
        return
    if dropped:
        click.echo(f"({dropped} earlier lines dropped: a run keeps its newest "
                   f"{len(lines)} lines)")
    for line in lines:
        for row in app_log_line_text(line):
            click.echo(row)
    if not lines:
        click.echo("(no app log lines: nothing logged through pyworkflow.get_logger() in "
                   "the workflow, nor by its steps at the worker's level)")
