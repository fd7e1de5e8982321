"""``pyworkflow schedules import-beat --app proj.celery:app``: a Celery app's
``beat_schedule`` as schedules (see :mod:`pyworkflow.schedules.beat_import`).

Prints one line per entry (its schedule id and when it fires) and the schedules of
entries no longer in ``beat_schedule`` that it deleted. A bad ``--app`` path, an app
that does not import, or an entry that cannot become a schedule (a solar schedule, a
bad crontab) is one line on stderr, exit code 1, and nothing is written.
"""

from __future__ import annotations

import click

from . import _output as out
from ._root import CliError
from .schedules import schedules


@schedules.command("import-beat")
@click.option("--app", "app_path", required=True, metavar="MODULE:APP",
              help="The Celery app whose beat_schedule to import, e.g. proj.celery:app.")
def import_beat_command(app_path: str) -> None:
    """Turn a Celery app's beat_schedule into schedules (no beat process needed).

    \b
    Each entry becomes sched-beat-<entry>, starting its task as a durable step.
    Run it again after changing beat_schedule: changed entries are updated, removed
    ones deleted, none duplicated. Or let workers do it: worker run --import-beat APP.
    """
    # Loads Celery (and the adopted task step): only for this command, not for its group.
    from ..schedules.beat_import import BeatImportError, import_beat

    try:
        report = import_beat(app_path)
    except BeatImportError as exc:
        raise CliError(str(exc)) from None
    if out.is_json():
        out.emit_json({"imported": [{"schedule_id": e.schedule_id, "entry": e.name,
                                     "when": e.spec.describe(), "origin": e.origin}
                                    for e in report.declared],
                       "deleted": report.deleted})
        return
    for entry in report.declared:
        click.echo(f"{entry.schedule_id}  {entry.spec.describe()}  ({entry.name})")
    for sid in report.deleted:
        click.echo(f"deleted {sid} (its entry is no longer in beat_schedule)")
    if not report.declared and not report.deleted:
        click.echo(f"{app_path} has no beat_schedule entries")
    out.note("workers fire them; see: pyworkflow schedules list")
