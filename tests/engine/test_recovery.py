"""Recovery in the engine: worker loss and parked runs, driven in memory."""

from __future__ import annotations

import uuid

from actors import TurnContext
from tests.engine.harness import Harness


def test_a_parked_run_records_no_more_recoveries() -> None:
    h = Harness(f"run-{uuid.uuid4().hex[:8]}")
    h.send("start", workflow="no_such_workflow", args=[], kwargs={})
    assert h.record["status"] == "parked"
    ctx = TurnContext(actor_id=h.run_id, turn=2, seq=len(h.journal))
    h.behaviour.on_recovered(h.state, ctx, 1)
    assert ctx.events == []
