"""A schedule's runs take the route ``start()`` would give them (issue 26): decided once
when the schedule is made (the start's ``queue=``/``priority=``, else the workflow's,
else the default) and carried by every firing's run id, whatever fired it."""

from __future__ import annotations

import pytest

from pyworkflow import ids, workflow
from pyworkflow.routing import Route
from pyworkflow.schedules.api import build_spec
from pyworkflow.schedules.errors import InvalidScheduleError
from pyworkflow.schedules.spec import ScheduleSpec
from tests.schedules.test_behaviour import SID, T0, Harness, starts


@workflow(name="sched_routes_billed", queue="billing", priority=7)
async def billed() -> None:
    return None


@workflow(name="sched_routes_plain")
async def plain() -> None:
    return None


def test_the_spec_takes_the_workflows_declared_route() -> None:
    assert build_spec(billed, interval="1h").route == Route("billing", 7)
    assert build_spec("sched_routes_billed", interval="1h").route == Route("billing", 7)
    assert build_spec(plain, interval="1h").route == Route()


def test_the_schedules_own_queue_and_priority_go_over_the_workflows() -> None:
    assert build_spec(billed, interval="1h", priority=2).route == Route("billing", 2)
    assert build_spec(billed, interval="1h", queue="reports").route == Route("reports", 7)
    assert build_spec(plain, interval="1h", priority=9).route == Route("default", 9)
    # the default named on purpose wins over the workflow's (the spec holds None for it)
    assert build_spec(billed, interval="1h", queue="default",
                      priority=5).route == Route()


@pytest.mark.parametrize("bad", [{"queue": "no spaces"}, {"priority": 10}, {"priority": True}])
def test_a_bad_route_is_refused_before_anything_is_written(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidScheduleError):
        build_spec(plain, interval="1h", **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidScheduleError):  # a stray message's spec, checked by the actor
        ScheduleSpec(workflow="wf", args=[], kwargs={}, interval_s=60.0, **bad).check()


def test_a_default_route_keeps_the_digest_specs_had_before_routes() -> None:
    """Declared schedules are declared again by every worker start, and a new digest
    reads as a changed spec: a default route must not change it."""
    spec = build_spec(plain, interval="1h")
    before = ScheduleSpec(workflow=spec.workflow, args=[], kwargs={}, interval_s=3600.0)
    assert spec.digest() == before.digest()
    assert build_spec(billed, interval="1h").digest() != before.digest()


def _routed() -> Harness:
    h = Harness()
    h.create(interval_s=2.0, overlap="allow_all", queue="billing", priority=7,
             start_at_ms=int((T0 - 100) * 1000))  # firings before now, to backfill
    return h


def test_timer_trigger_catch_up_and_backfill_firings_all_carry_the_route() -> None:
    h = _routed()
    h.now += 2
    (timed,) = starts(h.fire_armed())
    h.now += 1.5
    (triggered,) = starts(h.send("trigger", overlap="allow_all"))
    h.now += 30  # missed firings: catch-up runs (allow_all starts each)
    caught_up = starts(h.fire_armed())
    assert len(caught_up) > 1
    filled = starts(h.send("backfill", start_ms=int((T0 - 10) * 1000),
                           end_ms=int((T0 - 6) * 1000)))
    assert len(filled) == 3
    for start in (timed, triggered, *caught_up, *filled):
        assert ids.run_route(start.actor_id) == Route("billing", 7), start.actor_id
        assert ids.is_run_of_schedule(start.actor_id, SID)
        assert start.msg_id == ids.start_message_id(start.actor_id)
    assert timed.actor_id == ids.scheduled_run_id(SID, int((T0 + 2) * 1000), Route("billing", 7))


def test_a_routed_firing_is_still_one_run_and_its_end_lets_the_next_start() -> None:
    h = _routed()
    h.now += 2
    (first,) = starts(h.fire_armed())
    assert first.actor_id in h.state.running
    # its firing again (a repeated backfill) is the same run: not started twice
    assert starts(h.send("backfill", start_ms=int((T0 + 2) * 1000),
                         end_ms=int((T0 + 2) * 1000))) == []
    h.send("run-ended", run_id=first.actor_id, status="completed")
    assert first.actor_id not in h.state.running
