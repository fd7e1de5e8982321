"""Schedules on real workers: one run per firing, pause/resume/trigger, catch-up after a
restart, cancel_other, backfill, the CLI's refusals, and a delete that really deletes
(after a stray century-long backfill, a half-made schedule or an unreadable record)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from pyworkflow import ids, keys
from pyworkflow.schedules import api
from pyworkflow.schedules.limits import MAX_TURN_CRASHES
from pyworkflow.worker._runtime import runtime
from tests._workers import Worker, wait_for, worker_pool
from tests.cli.test_examples_cli import cli

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


# serial: it counts the firings of the first 9 s after its create, which other tests' load
# can push back (3 instead of 4-5, on six pytest processes at a load of 6)
@pytest.mark.serial
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
        assert wait_for(partial(finished, r["run_id"]), 20, 0.05, "run end") == "completed"
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
    assert api.delete_schedule(sid, wait=30)
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
        assert wait_for(partial(finished, r["run_id"]), 30, 0.05, "run end") == "completed"
    again = cli("schedules", "backfill", sid, "--start", "2026-05-01T10:00:00Z",
                "--end", "2026-05-01T10:59:59Z")  # again: every firing has its run already
    assert f"backfill sent: 6 firings of {sid}" in again.stdout
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
    cli("schedules", "delete", sid, "--wait", "30")


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


def test_the_cli_refuses_a_backfill_too_wide_in_the_future_or_empty(
        workers: list[Worker]) -> None:
    sid = api.create_schedule("quick", interval="1m", start_at="1970-01-01T00:00:00Z",
                              schedule_id=unique("wide"))
    wide = cli("schedules", "backfill", sid, "--start", "1970-01-01T00:00:00Z",
               "--end", "2020-01-01T00:00:00Z", check=False)
    assert wide.returncode == 1
    assert "26,297,281 firings" in wide.stderr and "at most 1,000" in wide.stderr
    future = cli("schedules", "backfill", sid, "--start", "2026-01-01T00:00:00Z",
                 "--end", "2199-01-01T00:00:00Z", check=False)
    assert future.returncode == 1 and "in the future" in future.stderr
    assert cli("schedules", "backfill", sid, "--start", "1969-01-01T00:00:00Z", "--end",
               "1970-01-01T00:10:00Z", check=False).returncode == 1  # before 1970
    late = api.create_schedule("quick", interval="1h", schedule_id=unique("late"))
    empty = cli("schedules", "backfill", late, "--start", "2020-01-01T00:00:00Z",
                "--end", "2020-01-02T00:00:00Z", check=False)
    # an empty range is no error (issue 28): exit 0, and the words say nothing happened
    assert empty.returncode == 0 and "0 firings" in empty.stdout
    # None of the refused backfills fired (the schedule's own timer may, on a minute).
    assert [e for e in schedule_events(sid, ev.SCHEDULE_FIRED)
            if e.get("reason") != "timer"] == []
    for s in (sid, late):
        assert api.delete_schedule(s, wait=30)


def test_delete_right_after_a_stray_century_backfill_deletes(workers: list[Worker]) -> None:
    # hourly: a century is still far over the 1,000 firings a backfill may make, and the
    # schedule's own timer fires on an hour, not on the minute a slow delete may straddle
    # (it did once, on a loaded machine: a 'timer' firing, not the backfill's)
    sid = api.create_schedule("quick", interval="1h", start_at="1970-01-01T00:00:00Z",
                              schedule_id=unique("century"))
    # what an older client sent: no count at the door, so the actor must bound it itself
    runtime().system.send(sid, "backfill", {"start_ms": 0, "end_ms": 4_102_444_800_000,
                                            "overlap": "allow_all"})
    out = cli("schedules", "delete", sid, "--wait", "30")
    assert out.stdout.strip() == f"deleted: {sid}"
    assert api.get_schedule(sid).status == "deleted"
    letters = runtime().system.dead_letters.list(20, actor_id=sid)
    assert any("at most 1000 firings" in d["reason"] for d in letters)
    assert fired(sid) == []


def test_a_half_made_or_unreadable_schedule_is_listed_and_deletable(
        workers: list[Worker]) -> None:
    rt = runtime()
    index = keys.schedules_index(rt.settings.key_prefix)
    # a create the actor refused (a spec from before the limits): the record says active
    stuck = ids.schedule_id(unique("year9999"))
    spec = {"workflow": "quick", "args": [], "kwargs": {}, "interval_s": 60.0,
            "start_at_ms": 253_402_300_000_000}
    rt.redis.zadd(index, {stuck: time.time()})
    rt.redis.hset(rt.system.actor_keys(stuck).record, mapping={
        "schedule_id": stuck, "status": "active", "workflow": "quick",
        "spec": json.dumps(spec), "describe": "every 60s", "created_at": "0"})
    rt.system.send(stuck, "create", {"spec": spec})
    # a record no reader can use, and one whose next firing is past any datetime
    broken, far = ids.schedule_id(unique("broken")), ids.schedule_id(unique("far"))
    rt.redis.zadd(index, {broken: time.time(), far: time.time()})
    rt.redis.hset(rt.system.actor_keys(broken).record,
                  mapping={"schedule_id": broken, "status": "active", "spec": "{not json"})
    rt.redis.hset(rt.system.actor_keys(far).record, mapping={
        "schedule_id": far, "status": "active", "workflow": "quick",
        "spec": json.dumps({**spec, "interval_s": 8.64e15, "start_at_ms": None}),
        "next_fire_ms": str(8_640_000_000_000_000_000)})
    listed = cli("schedules", "list")
    assert broken in listed.stdout and far in listed.stdout and "error (!)" in listed.stdout
    assert "out of range" in listed.stdout
    assert cli("--output", "json", "schedules", "list").returncode == 0
    for sid in (stuck, broken, far):
        assert cli("schedules", "delete", sid, "--wait", "30").stdout.strip() == f"deleted: {sid}"
    listed_after = cli("schedules", "list").stdout
    assert not {stuck, broken, far} & set(listed_after.split())
    again = api.create_schedule("quick", interval="1h", schedule_id=stuck)  # not blocked
    assert api.delete_schedule(again, wait=30)


def test_a_schedule_whose_turns_keep_dying_is_parked_in_error(workers: list[Worker]) -> None:
    rt = runtime()
    sid = api.create_schedule("quick", interval="1h", schedule_id=unique("poison"))
    meta = rt.system.actor_keys(sid).meta
    wait_for(lambda: api.get_schedule(sid).next_fire_at and not rt.redis.hexists(meta, "running"),
             15, 0.05, "the schedule's first turn to end")
    # What the runtime finds when turn tasks died mid-turn: one still marked running, and
    # the deaths it counted before. The next turn reports them (on_recovered).
    rt.redis.hset(meta, mapping={"running": "a-dead-turn", "crashes": str(MAX_TURN_CRASHES - 1)})
    api.trigger_schedule(sid)
    info = wait_for(lambda: (i := api.get_schedule(sid)).status == "error" and i, 20, 0.05,
                    "the schedule parked in error")
    assert f"died {MAX_TURN_CRASHES} times" in (info.error or "")
    wait_for(lambda: any("parked in error" in d["reason"]
                         for d in rt.system.dead_letters.list(20, actor_id=sid)),
             15, 0.05, "the trigger dead-lettered")
    assert fired(sid) == []
    assert "error (!)" in cli("schedules", "list").stdout
    assert "error" in cli("schedules", "show", sid).stdout
    refused = cli("schedules", "trigger", sid, check=False)
    assert refused.returncode == 1 and "parked in error" in refused.stderr
    cli("schedules", "resume", sid)
    wait_for(lambda: api.get_schedule(sid).status == "active", 15, 0.05, "resumed")
    assert cli("schedules", "delete", sid, "--wait", "30").stdout.strip() == f"deleted: {sid}"
