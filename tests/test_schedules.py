"""Schedules on real workers: one run per firing, pause/resume/trigger, catch-up after a
restart, cancel_other, backfill, and the CLI's refusals."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from pyworkflow import ids
from pyworkflow._runtime import runtime
from pyworkflow.schedules import api
from tests._workers import Worker, wait_for, worker_pool
from tests.test_examples_cli import cli

MODULE = "tests.schedule_workflows"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "sch", pool="prefork", concurrency=2) as pool:
        yield pool


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def schedule_events(sid: str, etype: str) -> list[dict[str, Any]]:
    journal = runtime().system.journal(sid)
    return [e.data for e in journal.read(0) if e.type == etype]


def fired(sid: str) -> list[dict[str, Any]]:
    return schedule_events(sid, ev.SCHEDULE_FIRED)


def finished(run_id: str) -> str | None:
    try:
        info = pyworkflow.get_workflow_run(run_id)
    except pyworkflow.RunNotFoundError:
        return None
    return info.status if info.finished else None


def test_an_interval_of_2s_starts_one_run_per_firing_then_pause_resume_trigger(
        workers: list[Worker]) -> None:
    t0 = time.time()
    sid = api.create_schedule("quick", interval="2s", args=["beat"],
                              schedule_id=unique("every2s"))
    wait_for(lambda: len(fired(sid)) >= 4, 12, 0.1, "4 firings")
    api.pause_schedule(sid)
    wait_for(lambda: api.get_schedule(sid).status == "paused", 5, 0.05, "paused")
    runs = fired(sid)
    in_9s = [r for r in runs if r["fire_ms"] <= (t0 + 9) * 1000]
    assert 4 <= len(in_9s) <= 5
    assert len({r["run_id"] for r in runs}) == len({r["fire_ms"] for r in runs}) == len(runs)
    assert all(r["run_id"] == ids.scheduled_run_id(sid, r["fire_ms"]) for r in runs)
    for r in runs:
        assert wait_for(lambda r=r: finished(r["run_id"]), 20, 0.05, "run end") == "completed"
    # paused: no timer is armed any more, so nothing fires
    info = api.get_schedule(sid)
    assert info.next_fire_at is None
    assert not [t for t in runtime().system.timers.pending() if t.startswith(f"{sid}:")]
    listed = cli("runs", "list", "--schedule", sid, "-n", "50").stdout
    assert all(r["run_id"] in listed for r in runs)

    api.trigger_schedule(sid)
    wait_for(lambda: len(fired(sid)) == len(runs) + 1, 10, 0.05, "a triggered run")
    assert fired(sid)[-1]["reason"] == "trigger"
    api.resume_schedule(sid)
    wait_for(lambda: len(fired(sid)) >= len(runs) + 2, 10, 0.05, "a firing after resume")
    assert fired(sid)[-1]["reason"] == "timer"
    api.delete_schedule(sid)
    assert sid not in [s.schedule_id for s in api.list_schedules()]


def test_cancel_other_cancels_the_previous_run(workers: list[Worker]) -> None:
    sid = api.create_schedule("slow", interval="2s", overlap="cancel_other",
                              schedule_id=unique("cancel"))
    wait_for(lambda: len(fired(sid)) >= 2, 15, 0.1, "a second firing")
    api.pause_schedule(sid)
    first = fired(sid)[0]["run_id"]
    assert wait_for(lambda: finished(first), 20, 0.05, "the first run to end") == "cancelled"
    assert first in [e["run_id"] for e in schedule_events(sid, ev.SCHEDULE_CANCEL_SENT)]
    api.delete_schedule(sid)


def test_a_backfill_of_a_cron_schedule_starts_one_run_per_firing(workers: list[Worker]) -> None:
    sid = api.create_schedule("quick", cron="*/10 * * * *", schedule_id=unique("cron"))
    api.backfill_schedule(sid, "2026-05-01T10:00:00Z", "2026-05-01T10:59:59Z")
    wait_for(lambda: len(fired(sid)) == 6, 15, 0.05, "6 backfilled runs")
    for r in fired(sid):
        assert wait_for(lambda r=r: finished(r["run_id"]), 30, 0.05, "run end") == "completed"
    cli("schedules", "backfill", sid, "--start", "2026-05-01T10:00:00Z",
        "--end", "2026-05-01T10:59:59Z")  # again: every firing has its run already
    wait_for(lambda: len(schedule_events(sid, ev.SCHEDULE_SKIPPED)) == 6, 10, 0.05, "skips")
    assert len(fired(sid)) == 6
    api.delete_schedule(sid)


def test_the_cli_refuses_a_bad_cron_expression_or_timezone(workers: list[Worker]) -> None:
    bad = cli("--module", MODULE, "schedules", "create", "quick", "--cron", "61 * * * *",
              check=False)
    assert bad.returncode == 1 and "bad cron expression" in bad.stderr
    bad = cli("--module", MODULE, "schedules", "create", "quick", "--cron", "0 3 * * *",
              "--timezone", "Mars/Olympus", check=False)
    assert bad.returncode == 1 and "unknown timezone" in bad.stderr
    sid = unique("clisched")
    out = cli("--module", MODULE, "schedules", "create", "quick", "--interval", "1h",
              "--arg", "label=x", "--schedule-id", sid).stdout
    assert out.splitlines()[0] == ids.schedule_id(sid)
    assert ids.schedule_id(sid) in cli("schedules", "list").stdout
    assert "every 3600s" in cli("schedules", "show", sid).stdout
    cli("schedules", "delete", sid)


def test_a_restarted_worker_catches_up_once_with_skip(workers: list[Worker]) -> None:
    sid = api.create_schedule("quick", interval="2s", schedule_id=unique("catchup"))
    # kill the workers while no run of the schedule is going (else skip skips the catch-up)
    wait_for(lambda: fired(sid) and not api.get_schedule(sid).running, 15, 0.02, "a run done")
    for w in workers:
        w.kill()
    assert not api.get_schedule(sid).running
    stopped = time.time()
    before = len(fired(sid))
    # let several firings pass with no worker at all
    wait_for(lambda: time.time() > stopped + 7, 10, 0.2, "firings missed")
    for w in workers:
        w.start(wait=False)
    for w in workers:
        w.wait_ready()
    wait_for(lambda: any(r["reason"] == "catch-up" for r in fired(sid)), 20, 0.1, "catch-up")
    api.pause_schedule(sid)
    catch_ups = [r for r in fired(sid) if r["reason"] == "catch-up"]
    assert len(catch_ups) == 1
    assert len(fired(sid)) <= before + 3  # one catch-up, then the regular firings
    api.delete_schedule(sid)
