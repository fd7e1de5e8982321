"""Celery beat's ``beat_schedule`` as schedule actors: beat without its single process.

``pyworkflow schedules import-beat --app proj.celery:app`` (or ``pyworkflow worker run
--import-beat proj.celery:app``, at every worker start) reads the app's
``beat_schedule`` and makes one schedule per entry, ``sched-beat-<entry>``, that
starts the built-in ``pyworkflow.beat_task`` workflow with the entry's task and
arguments. From then on the schedule actor fires each slot once (its run id derives
from the schedule and the fire time), with any number of workers and through any
worker's death; no beat process runs.

What an entry's ``schedule`` becomes:

* a ``timedelta``, a number of seconds or ``celery.schedules.schedule`` -> an interval
  (its phase counts from the import, not from a beat process's start);
* ``crontab(...)`` -> the same five cron fields, in the app's ``timezone`` (UTC
  when unset);
* ``solar(...)`` (or any other schedule class) -> refused, naming the entry: sunrise
  times have no cron or interval equivalent here.

An entry's ``options`` (queue, expires, priority) are not carried. A re-import
declares each entry again: an unchanged entry is a no-op, a changed one updates its
schedule in place (never a second schedule), and an entry gone from
``beat_schedule`` has its schedule deleted. The whole schedule is checked before
anything is written, so a bad entry changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import re
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..adopt.beat_task import BEAT_WORKFLOW
from .api import build_spec, declare_schedule, delete_schedule
from .errors import InvalidScheduleError, ScheduleNotFoundError
from .origin import forget_origin, origins, set_origin
from .spec import ScheduleSpec, check_schedule_id

#: What an imported schedule's id starts with (after ``sched-``).
BEAT_ID_PREFIX = "beat-"


class BeatImportError(InvalidScheduleError):
    """The app could not be loaded, or an entry cannot become a schedule (named)."""


@dataclass(frozen=True)
class BeatEntry:
    """One ``beat_schedule`` entry, as a schedule to declare."""

    name: str
    schedule_id: str
    spec: ScheduleSpec
    origin: str


def load_app(path: str) -> Any:
    """``proj.celery:app`` (or ``proj.celery``, taking its ``app``/``celery``) -> the app."""
    module_name, _, attr = path.partition(":")
    if not module_name:
        raise BeatImportError(f"--app {path!r}: give MODULE:ATTRIBUTE, e.g. proj.celery:app")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001  (whatever the module raised: one line)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BeatImportError(f"--app {path!r}: cannot import {module_name!r} "
                              f"({type(exc).__name__}: {first})") from None
    names = [attr] if attr else ["app", "celery"]
    for name in names:
        app = getattr(module, name, None)
        if app is not None:
            if not hasattr(app, "conf") or not hasattr(app, "tasks"):
                raise BeatImportError(f"--app {path!r}: {name} is not a Celery app "
                                      f"({type(app).__name__})")
            return app
    raise BeatImportError(f"--app {path!r}: module {module_name!r} has no "
                          f"{' or '.join(names)}")


def read_entries(app: Any, app_path: str) -> list[BeatEntry]:
    """Every entry of ``app.conf.beat_schedule`` as a checked schedule; the first entry
    that cannot become one raises :class:`BeatImportError` naming it."""
    beat = app.conf.beat_schedule or {}
    if not isinstance(beat, dict):
        raise BeatImportError(f"{app_path}: beat_schedule is {type(beat).__name__}, "
                              "not a dict of entries")
    timezone = str(app.conf.timezone or "UTC")
    return [_entry(app_path, str(name), entry, timezone) for name, entry in beat.items()]


def _entry(app_path: str, name: str, entry: Any, timezone: str) -> BeatEntry:
    where = f"beat_schedule[{name!r}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("task"), str):
        raise BeatImportError(f"{where}: an entry is a dict with a 'task' name")
    cron, interval = _when(where, entry.get("schedule"))
    try:
        spec = build_spec(BEAT_WORKFLOW, cron=cron, interval=interval,
                          args=[entry["task"], list(entry.get("args") or ()),
                                dict(entry.get("kwargs") or {})],
                          overlap="allow_all", timezone=timezone)
    except (InvalidScheduleError, TypeError, ValueError) as exc:
        raise BeatImportError(f"{where}: {exc}") from None
    return BeatEntry(name, beat_schedule_id(name), spec, f"beat:{app_path}[{name}]")


def _when(where: str, schedule: Any) -> tuple[str | None, float | None]:
    """An entry's ``schedule`` as (cron, None) or (None, seconds)."""
    from celery import schedules as celery_schedules

    if isinstance(schedule, bool):
        raise BeatImportError(f"{where}: schedule {schedule!r} is not a schedule")
    if isinstance(schedule, int | float):
        return None, float(schedule)
    if isinstance(schedule, dt.timedelta):
        return None, schedule.total_seconds()
    if isinstance(schedule, celery_schedules.crontab):
        fields = (schedule._orig_minute, schedule._orig_hour, schedule._orig_day_of_month,
                  schedule._orig_month_of_year, schedule._orig_day_of_week)
        return " ".join(str(f).replace(" ", "") for f in fields), None
    if isinstance(schedule, celery_schedules.solar):
        raise BeatImportError(f"{where}: solar schedules (sunrise, sunset, ...) are not "
                              "supported; write it as a crontab at the times you need")
    if type(schedule) is celery_schedules.schedule:
        return None, schedule.run_every.total_seconds()
    raise BeatImportError(f"{where}: schedule of type {type(schedule).__name__} is not "
                          "supported (a timedelta, a number of seconds or a crontab)")


def beat_schedule_id(entry_name: str) -> str:
    """``sched-beat-<entry>``; an entry name with other characters than letters, digits
    and ``-_.:`` is cleaned and given a short hash, so two names never share an id."""
    clean = re.sub(r"[^A-Za-z0-9_.:-]+", "-", entry_name).strip("-") or "entry"
    if clean != entry_name:
        clean = f"{clean[:150]}-{hashlib.sha256(entry_name.encode()).hexdigest()[:8]}"
    return check_schedule_id(ids.schedule_id(BEAT_ID_PREFIX + clean[:180]))


@dataclass(frozen=True)
class ImportReport:
    declared: list[BeatEntry]
    deleted: list[str]


def import_beat(app_path: str) -> ImportReport:
    """Declare every entry of the app's ``beat_schedule`` (idempotent), and delete the
    schedules an earlier import of the same app made for entries now gone."""
    app = load_app(app_path)
    entries = read_entries(app, app_path)  # all checked before anything is written
    for entry in entries:
        declare_schedule(entry.schedule_id, entry.spec)
        set_origin(entry.schedule_id, entry.origin)
    kept = {e.schedule_id for e in entries}
    mine = f"beat:{app_path}["
    gone = sorted(sid for sid, origin in origins().items()
                  if origin.startswith(mine) and sid not in kept)
    for sid in gone:
        with contextlib.suppress(ScheduleNotFoundError):  # deleted by hand meanwhile
            delete_schedule(sid)
        forget_origin(sid)
    return ImportReport(entries, gone)


def import_on_worker_start(app_path: str) -> None:
    """``worker run --import-beat``: import when the worker starts (its main process),
    after its modules are loaded; a bad app or entry stops the start with the reason."""
    from celery import signals

    def _on_init(**_: Any) -> None:
        import_beat(app_path)

    load_app(app_path)  # a typo fails now, before the worker starts
    signals.worker_init.connect(_on_init, weak=False)
