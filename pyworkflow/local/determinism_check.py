"""The pre-deploy determinism check: would the code on disk replay the runs in flight?

``pyworkflow --module M runs check`` reads the journal of every run that has not
ended (or those selected) and replays it, in this process, through the real engine
with in-memory ports, against the workflow code imported from ``M``. It writes
nothing and runs no step (steps are commands; their results come from the journal).
A run whose replay issues a different command than the one its journal recorded
would be parked by the workers after the deploy: it is reported with the position,
the recorded command and the one the code now issues. Guard the change with
``patched()`` and check again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from actors.journal import Event

from ..client import list_workflow_runs
from ..engine import Run, memory_ports
from ..engine.ports import MemoryRunStore
from ..worker._runtime import runtime

#: The statuses a check looks at by default: every run that has not ended.
UNFINISHED = ("pending", "running", "suspended", "parked")


@dataclass(frozen=True)
class Divergence:
    run_id: str
    workflow: str
    status: str
    position: int | None
    recorded: str
    issued: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def replay_divergence(run_id: str, workflow: str, status: str, events: Iterable[Event],
                      masked: set[int]) -> Divergence | None:
    """Replay one run's journal against the imported code; the divergence, if any."""
    runs = MemoryRunStore()
    runs.masks[run_id] = masked
    run = Run(run_id, memory_ports(runs=runs))
    for event in events:
        run.apply(event)
    run.catch_up()
    if run.divergence is not None:
        d = run.divergence
        return Divergence(run_id, workflow, status, d.position, d.recorded, d.issued, str(d))
    if run.setup_error is not None:
        return Divergence(run_id, workflow, status, None, "workflow_started", "nothing",
                          run.setup_error)
    return None


def check_runs(workflow: str | None = None, status: str | None = None,
               limit: int = 10_000) -> tuple[int, list[Divergence]]:
    """How many runs were checked, and the ones that would diverge."""
    rt = runtime()
    statuses = [status] if status else list(UNFINISHED)
    checked, found = 0, []
    for wanted in statuses:
        for info in list_workflow_runs(status=wanted, workflow=workflow, limit=limit):
            raw = rt.redis.hget(rt.system.actor_keys(info.run_id).record, "masked")
            masked = set(json.loads(raw)) if raw else set()
            events = rt.system.journal(info.run_id).iter_all()
            checked += 1
            divergence = replay_divergence(info.run_id, info.workflow, info.status, events,
                                           masked)
            if divergence is not None:
                found.append(divergence)
    return checked, found
