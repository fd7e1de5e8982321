"""Workflows the dashboard tests run on real workers: one of each thing a run page draws."""

from __future__ import annotations

import logging
from typing import Any

from pyworkflow import (
    FatalError,
    get_logger,
    get_step_context,
    hook,
    set_value,
    sleep,
    start_child_workflow,
    step,
    workflow,
)


@step(name="dash_flaky", max_retries=2, retry_delay="0.1s")
async def flaky(order: str) -> str:
    """Fails its first attempt, so the timeline has a retry to draw."""
    if get_step_context().attempt == 1:
        raise RuntimeError("first attempt always fails")
    return f"charged {order}"


@step(name="dash_broken", max_retries=0)
async def broken() -> None:
    raise FatalError("the card was declined")


@workflow(name="dash_child")
async def child(order: str) -> str:
    return f"shipped {order}"


@workflow(name="dash_order")
async def order(order: str) -> Any:
    """A step with a retry, a sleep, a child, a hook and published values."""
    await set_value("stage", "charging")
    charged = await flaky(order)
    await sleep("0.2s")
    shipped = await start_child_workflow(child, order)
    await set_value("stage", "waiting for approval")
    approval = await hook("dash_approval")
    await set_value("stage", "done")
    return {"charged": charged, "shipped": shipped, "approval": approval}


@workflow(name="dash_failing")
async def failing() -> None:
    await broken()


#: Markup an app might log: the page must show it as text (tests/web/test_app_log_browser.py).
LOGGED_MARKUP = "<img src=x onerror=window.__xss=1>"


@step(name="dash_logging_step")
async def logging_step() -> None:
    logging.getLogger("dash.step").warning("step says %s", LOGGED_MARKUP)


@workflow(name="dash_logging")
async def logging_workflow() -> None:
    """Logs from the workflow (``get_logger``, a field holding markup) and its step."""
    get_logger("dash").info("workflow says hello", note=LOGGED_MARKUP)
    await logging_step()
