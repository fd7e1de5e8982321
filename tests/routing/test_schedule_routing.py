"""A schedule's runs take their workflow's route on real workers (issue 26): a schedule
of ``@workflow(queue="billing", priority=7)`` fires runs whose ids carry that route and
which a worker reading ``billing`` runs, as ``start()``'s would; a schedule's own
``queue``/``priority`` goes over the workflow's (here back to the default queue, at
priority 2), for its backfill's runs too; an update moves it. Two workers: one reads
only ``default`` (where the schedule's own turns go), one only ``billing``; both have
the workflow, so only the route decides which one runs a run."""

from __future__ import annotations

import datetime as dt
import importlib
import time
import uuid
from pathlib import Path
from typing import Any

import pyworkflow
from pyworkflow import events as ev
from pyworkflow.ids import run_route
from pyworkflow.routing import Route
from pyworkflow.schedules import api
from pyworkflow.worker._runtime import runtime
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import cli

MODULE = "tests.routing.schedule_routing_workflows"


def _fired_runs(sid: str, reason: str | None = None) -> list[str]:
    """The runs the schedule's firings started (``reason``: only those, e.g. "trigger")."""
    return [e.data["run_id"] for e in runtime().system.journal(sid).read(0)
            if e.type == ev.SCHEDULE_FIRED and reason in (None, e.data.get("reason"))]


def _result(run_id: str) -> Any:
    """The run's result, once it has one: a firing is journaled before its run's record
    exists (the start is sent after the schedule's commit)."""
    def done() -> bool:
        try:
            return pyworkflow.get_workflow_run(run_id).finished
        except pyworkflow.RunNotFoundError:
            return False

    wait_for(done, 60, 0.1, f"run {run_id} to finish")
    return pyworkflow.get_result(run_id, timeout=5)


def test_a_schedule_of_a_queued_workflow_fires_on_its_queue_and_priority(
        rt: Any, log_dir: Path) -> None:
    flows = importlib.import_module(MODULE)
    default = Worker(MODULE, log_dir, "sroute-default", extra_env={"ROUTING_TAG": "default"},
                     queues="default").start(wait=False)
    billing = Worker(MODULE, log_dir, "sroute-billing", extra_env={"ROUTING_TAG": "billing"},
                     queues="billing").start(wait=False)
    try:
        default.wait_ready()
        billing.wait_ready()
        # the timer's firing: the workflow's route
        sid = api.create_schedule(flows.sched_routing_billed, interval="2s",
                                  schedule_id=f"sroute-{uuid.uuid4().hex[:6]}")
        run_id = wait_for(lambda: _fired_runs(sid)[:1], 20, 0.1, "the first firing")[0]
        api.pause_schedule(sid)
        assert run_id.endswith("@billing+7") and run_route(run_id) == Route("billing", 7)
        assert _result(run_id) == {"turn": "billing", "step": "billing"}
        # an update moves the route of the firings after it (a trigger's here)
        api.update_schedule(sid, priority=3)
        wait_for(lambda: api.get_schedule(sid).spec.route == Route("billing", 3), 20, 0.1,
                 "the update")
        api.trigger_schedule(sid)
        (triggered,) = wait_for(lambda: _fired_runs(sid, "trigger"), 20, 0.1, "the trigger")
        assert run_route(triggered) == Route("billing", 3), triggered
        assert _result(triggered)["turn"] == "billing"

        # the schedule's own route (CLI create --queue/--priority), for backfilled firings
        now = time.time()
        out = cli("--module", MODULE, "schedules", "create", "sched_routing_billed",
                  "--interval", "1h", "--queue", "default", "--priority", "2",
                  "--start-at", dt.datetime.fromtimestamp(now - 9000, dt.UTC).isoformat(),
                  "--schedule-id", f"sroute-own-{uuid.uuid4().hex[:6]}")
        own = out.stdout.split()[0]
        assert api.get_schedule(own).spec.route == Route("default", 2)
        assert "queue default, priority 2" in cli("schedules", "show", own).stdout
        assert api.backfill_schedule(own, now - 9001, now) == 3
        runs = wait_for(lambda: len(_fired_runs(own)) == 3 and _fired_runs(own), 20, 0.1,
                        "3 backfilled firings")
        for backfilled in runs:
            assert run_route(backfilled) == Route("default", 2), backfilled
            assert _result(backfilled) == {"turn": "default", "step": "default"}
        api.delete_schedule(sid)
        api.delete_schedule(own)
    finally:
        default.stop()
        billing.stop()
