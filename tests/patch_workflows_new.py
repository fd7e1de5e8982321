"""One deploy of ``patched_order`` for tests/workflow_api/test_patching_integration.py
(the new code).

The three modules define the same workflow and steps: ``_old`` checks with
``old_check``; ``_new`` guards the switch to ``new_check`` with ``patched()``;
``_unpatched`` switches without the guard (what ``runs check`` must catch).
"""

from __future__ import annotations

from pyworkflow import patched, sleep, step, workflow


@step()
async def old_check(order_id: str) -> str:
    return f"old {order_id}"


@step()
async def new_check(order_id: str) -> str:
    return f"new {order_id}"


@step()
async def finish(order_id: str) -> str:
    return f"finished {order_id}"


@workflow()
async def patched_order(order_id: str, wait: str = "0.1s") -> dict:
    if patched("new-check"):
        check = await new_check(order_id)
    else:
        check = await old_check(order_id)
    await sleep(wait)
    return {"check": check, "finish": await finish(order_id)}
