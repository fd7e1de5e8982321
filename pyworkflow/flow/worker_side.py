"""Flow control on a worker: the slot store, the step gate, the release task, the sweep.

Called once per process by the runtime (``worker._runtime``), which hands the engine
the port returned here (``engine.ports.SlotStore``).
"""

from __future__ import annotations

from typing import Any

from actors import log as _log

from .. import ids
from . import grants, step_gate
from .slots import RunSlots, Slots
from .sweeper import SlotSweeper

logger = _log.get_logger("pyworkflow.flow")


def install(app: Any, system: Any, leases: Any, client: Any, prefix: str) -> RunSlots:
    slots = Slots(client, prefix)
    step_gate.install(step_gate.StepGate(system, leases, slots))

    def slot_release(limit: str, key: str, holder: str) -> None:
        """A finished run's slot (or its place in the wait), let go after the commit of
        the turn that ended it; idempotent (a second release finds nothing to let go)."""
        out = slots.release(limit, key, holder)
        grants.deliver(system, prefix, limit, key, out.grants, leases.key)

    app.task(name=ids.SLOT_RELEASE_TASK, acks_late=True, ignore_result=True, shared=False,
             max_retries=None)(slot_release)
    # A turn's process keeps its release task to run right there, after the commit.
    system.in_place.accept(ids.SLOT_RELEASE_TASK, lambda task: True,
                           lambda task: slot_release(**task.kwargs))
    system.periodic.append(SlotSweeper(system, slots, leases.key).sweep)
    return RunSlots(slots)
