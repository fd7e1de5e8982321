"""``beat_schedule`` as schedules: a bad app or entry is refused in one line, a crontab
keeps its fields and the app's timezone, and on real workers a 2 s beat entry fires
each slot once over 60 s with three workers, one of them SIGKILLed midway."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from pathlib import Path

import pytest

import pyworkflow
from pyworkflow.schedules.beat_import import beat_schedule_id, load_app, read_entries
from tests._workers import Worker, wait_for
from tests.adopt import beat_app
from tests.cli.test_examples_cli import cli

APP = "tests.adopt.beat_app:app"
WINDOW_S = 60.0
EVERY_S = 2.0


@pytest.mark.redis
@pytest.mark.parametrize(("app", "says"), [
    ("tests.adopt.nowhere:app", "cannot import 'tests.adopt.nowhere'"),
    ("tests.adopt.beat_bad:not_an_app", "not_an_app is not a Celery app"),
    ("tests.adopt.beat_bad:solar_app", "beat_schedule['at-dawn']: solar schedules"),
    ("tests.adopt.beat_bad", "has no app or celery"),
])
def test_a_bad_app_or_entry_is_one_line_and_writes_nothing(app: str, says: str) -> None:
    proc = cli("schedules", "import-beat", "--app", app, check=False)
    assert proc.returncode == 1
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not [i for i in pyworkflow.list_schedules() if i.schedule_id.startswith(
        "sched-beat-")]


def test_a_crontab_keeps_its_fields_and_the_apps_timezone() -> None:
    app_path = "tests.adopt.beat_bad:cron_app"
    entries = {e.name: e for e in read_entries(load_app(app_path), app_path)}
    cron = entries["weekday-mornings"].spec
    assert (cron.cron, cron.timezone) == ("*/15 9-17 * * mon-fri", "Europe/Paris")
    assert cron.args == ["adopt.tick", ["x"], {}]
    assert entries["every-90s"].spec.interval_s == 90.0
    assert entries["every-90s"].origin == f"beat:{app_path}[every-90s]"
    assert beat_schedule_id("a b/c") != beat_schedule_id("a b:c")


def _slot(run_id: str) -> dt.datetime:
    """A scheduled run's fire time, from its id (``...-20260101T000002.000Z``)."""
    stamp = run_id.rsplit("-", 1)[1]
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ")


# quiet: three workers for a 60 s window against a deadline, one of them SIGKILLed.
@pytest.mark.quiet
def test_a_beat_entry_fires_each_slot_once_with_three_workers_and_one_killed(
        redis_env: dict[str, str], log_dir: Path) -> None:
    sid = beat_schedule_id("tick-every-2s")
    workers = [Worker("tests.adopt.beat_app", log_dir, f"adopt-beat-{i}", concurrency=2)
               for i in range(3)]
    for w in workers:
        w.run_options = ("--import-beat", APP)  # every worker imports it at start
        w.start(wait=False)
    client = pyworkflow.redis_connection()
    try:
        for w in workers:
            w.wait_ready()
        again = cli("schedules", "import-beat", "--app", APP)  # a re-import: no duplicate
        assert sid in again.stdout
        listed = json.loads(cli("--output", "json", "schedules", "list").stdout)
        mine = [s for s in listed if s["schedule_id"].startswith("sched-beat-")]
        assert [(s["schedule_id"], s["origin"]) for s in mine] == [
            (sid, f"beat:{APP}[tick-every-2s]")]
        began = time.monotonic()
        ticks = beat_app.ticks_key("beat")
        wait_for(lambda: client.llen(ticks) >= WINDOW_S / EVERY_S / 2, WINDOW_S, 0.1,
                 "half the window's firings")
        workers[1].kill()  # SIGKILL midway: the other two go on
        wait_for(lambda: time.monotonic() - began >= WINDOW_S
                 and client.llen(ticks) >= WINDOW_S / EVERY_S, WINDOW_S * 2, 0.2,
                 "the rest of the window's firings")
        cli("schedules", "delete", sid)
    finally:
        for w in workers:
            w.kill()
    noted = [x.decode() for x in client.lrange(ticks, 0, -1)]
    run_ids = [n.split(":", 1)[0] for n in noted]
    assert len(run_ids) == len(set(run_ids)), "a slot's task ran twice"
    slots = sorted(_slot(r) for r in run_ids)
    gaps = {(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)}
    assert gaps == {EVERY_S}, f"a slot was missed or doubled: gaps {sorted(gaps)}"
    assert len(slots) >= WINDOW_S / EVERY_S
    print(f"\n[beat] {len(slots)} slots from {slots[0]:%H:%M:%S} to {slots[-1]:%H:%M:%S}, "
          "each fired once, through a SIGKILL of one of three workers")


def test_a_reimport_updates_a_changed_entry_deletes_a_gone_one_and_never_duplicates(
        redis_env: dict[str, str], log_dir: Path) -> None:
    from pyworkflow.schedules.beat_import import import_beat
    from tests.adopt import beat_bad

    app_path = "tests.adopt.beat_bad:moving_app"

    def mine() -> dict[str, float | None]:
        return {i.schedule_id: i.interval for i in pyworkflow.list_schedules()
                if i.schedule_id in (beat_schedule_id("a"), beat_schedule_id("b"))}

    worker = Worker("tests.adopt.beat_bad", log_dir, "adopt-beat-moving", concurrency=1)
    saved = dict(beat_bad.moving_app.conf.beat_schedule)
    try:
        worker.start()
        import_beat(app_path)
        import_beat(app_path)
        want = {beat_schedule_id("a"): 30.0, beat_schedule_id("b"): 60.0}
        wait_for(lambda: mine() == want, 30, 0.1, "both entries as schedules")
        beat_bad.moving_app.conf.beat_schedule = {
            "a": {"task": "adopt.tick", "schedule": 45.0, "args": ("a",)}}
        report = import_beat(app_path)
        assert report.deleted == [beat_schedule_id("b")]
        wait_for(lambda: mine() == {beat_schedule_id("a"): 45.0}, 30, 0.1,
                 "a updated in place and b deleted")
    finally:
        beat_bad.moving_app.conf.beat_schedule = saved
        worker.kill()
        for sid in (beat_schedule_id("a"), beat_schedule_id("b")):
            with contextlib.suppress(pyworkflow.ScheduleNotFoundError):
                pyworkflow.delete_schedule(sid)
