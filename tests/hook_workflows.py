"""Workflows for the hook delivery tests (served by real workers in
tests/worker/test_hook_delivery.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pyworkflow import define_hook, hook, sleep, workflow


class Shipment(BaseModel):
    address: str
    express: bool = False


#: Typed: the worker checks each payload with the model (tests/cli/test_hook_door.py).
shipment_hook = define_hook("hooktest_shipment", Shipment)


@workflow(name="hooktest_echo")
async def echo(timeout: str | None = None) -> Any:
    """Returns the payload its hook receives."""
    return await hook("hooktest_door", timeout=timeout)


@workflow(name="hooktest_echo_then_sleep")
async def echo_then_sleep() -> Any:
    """Waits on its hook, then sleeps (where a cancel that came after the payload lands)."""
    payload = await hook("hooktest_door")
    await sleep("60s")
    return payload


@workflow(name="hooktest_typed")
async def typed() -> Any:
    """Returns the shipment its typed hook receives, as a dict."""
    shipment = await shipment_hook()
    return shipment.model_dump()
