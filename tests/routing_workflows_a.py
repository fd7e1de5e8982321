"""Service A of the routing tests: one workflow and one step, imported only by A's
workers (and by the test process, which starts runs of both services)."""

from __future__ import annotations

import os

from pyworkflow import step, workflow


@step()
async def routing_tag_a() -> str:
    return os.environ.get("ROUTING_TAG", "?")


@workflow()
async def routing_service_a(n: int) -> dict[str, object]:
    """Which worker ran its code (a turn) and its step."""
    return {"n": n, "turn": os.environ.get("ROUTING_TAG", "?"), "step": await routing_tag_a()}
