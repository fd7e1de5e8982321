"""Service B of the routing tests: the same shape as service A, another module."""

from __future__ import annotations

import os

from pyworkflow import step, workflow


@step()
async def routing_tag_b() -> str:
    return os.environ.get("ROUTING_TAG", "?")


@workflow()
async def routing_service_b(n: int) -> dict[str, object]:
    return {"n": n, "turn": os.environ.get("ROUTING_TAG", "?"), "step": await routing_tag_b()}
