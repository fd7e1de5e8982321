"""Testing workflows: the real engine in-process, with a virtual clock.

    from pyworkflow.testing import WorkflowEnvironment

    with WorkflowEnvironment() as env:
        env.mock_step(charge, return_value="charged")
        assert env.run(order_workflow, "o-1", 9.5)["status"] == "completed"

No Redis, no Celery, no worker: see ``environment.py``. ``replay`` checks that an
exported journal still replays against today's code.
"""

from __future__ import annotations

from .clock import VirtualClock
from .environment import RunHandle, WorkflowEnvironment
from .replay import replay, replay_folder

__all__ = ["RunHandle", "VirtualClock", "WorkflowEnvironment", "replay", "replay_folder"]
