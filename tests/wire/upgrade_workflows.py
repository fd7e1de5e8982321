"""Workflows whose journals and messages the previous release wrote (``tests/wire/
previous_release.json``), replayed and handled by this one (``test_upgrade.py``)."""

from __future__ import annotations

from typing import Any

from pyworkflow import (
    FatalError,
    get_step_context,
    sleep,
    start_child_workflow,
    step,
    wait_for_signal,
    workflow,
)


@step(max_retries=0)
def up_refuse() -> None:
    raise FatalError("refused")


@step(max_retries=3, retry_delay="1s")
def up_flaky() -> int:
    if get_step_context().attempt < 3:
        raise ValueError("not yet")
    return get_step_context().attempt


@workflow()
async def up_child(n: int) -> int:
    return n * 2


@workflow()
async def up_main() -> dict[str, Any]:
    try:
        await up_refuse()
        refused = ""
    except FatalError as exc:
        refused = type(exc).__name__
    tries = await up_flaky()
    await sleep("10m")
    signal = await wait_for_signal("go")
    child = await start_child_workflow(up_child, 21)
    return {"refused": refused, "tries": tries, "signal": signal,
            "child": child}
