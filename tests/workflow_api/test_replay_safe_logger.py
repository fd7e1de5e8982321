"""``get_logger()`` is silent while workflow code replays; a run's code and a step's
attempt see the run's context bound; what an attempt logs is captured for its run."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from structlog.testing import capture_logs

from pyworkflow import get_logger, workflow
from pyworkflow.app_log import CaptureHandler
from pyworkflow.step_attempt import Attempt
from pyworkflow.step_context import StepContext
from pyworkflow.testing import replay

seen_context: list[dict[str, Any]] = []


@workflow(name="replay_safe_logger_wf")
async def logging_workflow() -> str:
    get_logger("tests.replay").info("from get_logger")
    structlog.get_logger("tests.plain").info("plain structlog")
    seen_context.append(structlog.contextvars.get_contextvars())
    return "ok"


JOURNAL = [
    {"seq": 1, "type": "workflow_started", "timestamp": 1.0,
     "data": {"workflow": "replay_safe_logger_wf", "args": [], "kwargs": {}}},
    {"seq": 2, "type": "workflow_completed", "timestamp": 1.0, "data": {"result": "ok"}},
]


def test_get_logger_logs_nothing_on_replay_but_plain_logging_does() -> None:
    seen_context.clear()
    with capture_logs() as logs:
        replay(JOURNAL, run_id="run-replaylogger")
    events = [line["event"] for line in logs]
    assert "plain structlog" in events
    assert "from get_logger" not in events
    assert seen_context[0]["run_id"] == "run-replaylogger"
    assert seen_context[0]["workflow"] == "replay_safe_logger_wf"


def test_get_logger_outside_a_run_logs() -> None:
    with capture_logs() as logs:
        get_logger("tests.outside").bind(order="o-1").warning("no run here", n=2)
    assert logs == [{"event": "no run here", "order": "o-1", "n": 2, "log_level": "warning"}]


def test_an_attempt_binds_its_context_and_captures_what_it_logs() -> None:
    logger = logging.getLogger("tests.attempt_capture")
    logger.setLevel(logging.INFO)
    handler = CaptureHandler()
    logger.addHandler(handler)
    before = structlog.contextvars.get_contextvars()
    try:
        ctx = StepContext("run-attempt", 3, "charge", 2, workflow="orders")
        with Attempt(ctx, lambda: 0) as frame:
            bound = structlog.contextvars.get_contextvars()
            logger.info("charging %s", "o-1")
            frame.succeed(None)
        logger.info("after the attempt")
    finally:
        logger.removeHandler(handler)
    assert {k: bound[k] for k in ("run_id", "workflow", "step", "attempt")} == {
        "run_id": "run-attempt", "workflow": "orders", "step": "charge", "attempt": 2}
    assert structlog.contextvars.get_contextvars() == before  # unbound after the attempt
    (line,) = frame.log_lines
    assert (line.level, line.logger, line.message) == ("info", "tests.attempt_capture",
                                                       "charging o-1")
    assert line.fields == {"step": "charge", "attempt": 2}
