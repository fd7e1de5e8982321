"""A step attempt whose function the worker lacks is handed to a worker that has it, or
waits, visibly, until one starts; it is never failed as "not registered"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyworkflow
from pyworkflow.metrics import render_metrics
from pyworkflow.routing import describe_need_wait
from tests import routing_workflows_steps as flows
from tests._workers import Worker, wait_for

MODULE = flows.__name__
NEED = "step:routing_only_some_have"


def test_a_step_the_worker_lacks_waits_for_a_worker_that_has_it_then_runs_there(
        rt: Any, log_dir: Path) -> None:
    lacking = Worker(MODULE, log_dir, "no-step", extra_env={
        "ROUTING_TAG": "lacking", "ROUTING_WITHOUT_STEP": "1"}).start()
    # Reads a queue nothing is sent to: it gets only what is handed to it.
    having = Worker(MODULE, log_dir, "has-step", extra_env={"ROUTING_TAG": "having"},
                    queues="elsewhere")
    try:
        waiting = pyworkflow.start(flows.needs_step)
        wait_for(lambda: pyworkflow.get_workflow_run(waiting).waiting_for
                 == describe_need_wait(NEED), 30, message="the step to wait for a worker")
        assert 'pyworkflow_steps_waiting_for_worker{step="routing_only_some_have"} 1.0' \
            in render_metrics()
        having.start()
        assert pyworkflow.get_result(waiting, timeout=60) == {"turn": "lacking",
                                                               "step": "having"}
        assert not pyworkflow.get_workflow_run(waiting).waiting_for
        handed = pyworkflow.start(flows.needs_step)  # a worker has it now: sent straight on
        assert pyworkflow.get_result(handed, timeout=60) == {"turn": "lacking",
                                                              "step": "having"}
        events = [e["type"] for e in pyworkflow.get_workflow_events(handed)]
        assert events.count("step_completed") == 1 and "step_failed" not in events
    finally:
        lacking.stop()
        having.stop()
