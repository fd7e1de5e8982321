"""Routes without Redis: names and priorities checked where they are given, a run's
route carried by its id, and the broker levels that order work."""

from __future__ import annotations

import pytest

from pyworkflow import step, workflow
from pyworkflow._start_plan import plan_start
from pyworkflow.cli.worker import celery_queue_names
from pyworkflow.ids import is_run_of_schedule, new_run_id, run_route, scheduled_run_id
from pyworkflow.routing import (
    DEFAULT_PRIORITY,
    Route,
    broker_priority,
    celery_queues,
    check_priority,
    check_queue,
)
from pyworkflow.worker.turn_router import TurnRouter


@pytest.mark.parametrize("name", ["", "bad name", "a.b", "-x", "x" * 41, "q{1}", 7])
def test_a_bad_queue_name_is_refused_saying_what_a_name_is(name: object) -> None:
    with pytest.raises(ValueError, match="is not a queue name"):
        check_queue(name)


@pytest.mark.parametrize("priority", [12, -1, True, "5", 4.0])
def test_a_priority_outside_0_to_9_is_refused(priority: object) -> None:
    with pytest.raises(ValueError, match="is not a priority"):
        check_priority(priority)


def test_decorators_refuse_a_bad_queue_or_priority_at_import_time() -> None:
    with pytest.raises(ValueError, match="queue='gpu farm'"):
        @workflow(queue="gpu farm")
        async def bad_queue() -> None: ...
    with pytest.raises(ValueError, match="priority=12"):
        @workflow(priority=12)
        async def bad_priority() -> None: ...
    with pytest.raises(ValueError, match="@step queue='a.b'"):
        @step(queue="a.b")
        async def bad_step() -> None: ...


@workflow(name="routes_declared", queue="billing", priority=7)
async def declared() -> None: ...


def test_a_start_takes_the_workflows_route_or_its_own_and_refuses_a_bad_one() -> None:
    assert run_route(plan_start(declared, (), {}).run_id) == Route("billing", 7)
    assert run_route(plan_start(declared, (), {}, queue="vip", priority=9).run_id) \
        == Route("vip", 9)
    with pytest.raises(ValueError, match="priority=12"):
        plan_start(declared, (), {}, priority=12)
    with pytest.raises(ValueError, match="is not a queue name"):
        plan_start(declared, (), {}, queue="no way")


def test_a_run_id_carries_its_route_and_the_default_route_adds_nothing() -> None:
    plain = new_run_id(Route())
    assert "@" not in plain and "+" not in plain and run_route(plain) == Route()
    for route in (Route("billing"), Route(priority=0), Route("gpu-2", 9)):
        assert run_route(new_run_id(route)) == route
    fired = scheduled_run_id("sched-nightly", 1_767_225_600_000, Route("billing", 8))
    assert fired.endswith("Z@billing+8") and run_route(fired) == Route("billing", 8)
    assert is_run_of_schedule(fired, "sched-nightly")


def test_higher_priorities_first_and_work_in_progress_before_starts_of_its_priority() -> None:
    levels = [(broker_priority(p), broker_priority(p, starting=True)) for p in range(10)]
    for p, (wip, start) in enumerate(levels):
        assert wip < start
        if p > 0:  # a start of priority p goes before work in progress of p - 1
            assert start < levels[p - 1][0]
    assert {lvl for pair in levels for lvl in pair} == set(range(20))


def test_turns_go_to_the_runs_queue_in_the_start_band_only_for_a_start() -> None:
    router = TurnRouter("px")
    run_id = new_run_id(Route("billing", 8))
    assert router(run_id, "start") == ("px.q.billing.turns", broker_priority(8, True))
    assert router(run_id, "timer-fired") == ("px.q.billing.turns", broker_priority(8))
    assert router("sched-x@y", None) == ("px.turns", broker_priority(DEFAULT_PRIORITY))


def test_a_worker_reads_each_queues_turns_and_steps_and_its_own_direct_queue() -> None:
    assert celery_queues("px", "default") == {"turns": "px.turns", "steps": "px.steps"}
    assert celery_queue_names("px", ["default", "gpu", "raw.celery"], "w1@h") == [
        "px.turns", "px.steps", "px.q.gpu.turns", "px.q.gpu.steps", "raw.celery",
        "px.direct.w1@h"]
