"""A workflow whose step one of the test's workers lacks: with ``ROUTING_WITHOUT_STEP``
set, this module takes its step out of the registry after defining it, as a worker of a
service that does not ship that step's code would be (a stand-in: the workflow still
needs the step's object to call it)."""

from __future__ import annotations

import os

from pyworkflow import registry, step, workflow


@step(name="routing_only_some_have")
async def only_some_have() -> str:
    return os.environ.get("ROUTING_TAG", "?")


if os.environ.get("ROUTING_WITHOUT_STEP"):
    registry._steps.pop("routing_only_some_have")


@workflow(name="routing_needs_step")
async def needs_step() -> dict[str, str]:
    return {"turn": os.environ.get("ROUTING_TAG", "?"), "step": await only_some_have()}
