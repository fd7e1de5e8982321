"""Testing workflows: the real engine in-process, with a virtual clock.

    from pyworkflow.testing import WorkflowEnvironment

    with WorkflowEnvironment() as env:
        env.mock_step(charge, return_value="charged")
        assert env.run(order_workflow, "o-1", 9.5)["status"] == "completed"

No Redis, no Celery, no worker. This package is only the public face for tests: the
environment, its clock and its step runner are :mod:`pyworkflow.local`, the in-process
runtime that ``run_local`` and ``run_transient`` stand on too (production code imports
that, never this package). ``replay`` checks that an exported journal still replays
against today's code.
"""

from __future__ import annotations

from ..local.clock import VirtualClock
from ..local.environment import RunHandle, WorkflowEnvironment
from .replay import replay, replay_folder

__all__ = ["RunHandle", "VirtualClock", "WorkflowEnvironment", "replay", "replay_folder"]
