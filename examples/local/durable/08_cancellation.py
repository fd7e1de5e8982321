"""Local example 08: cancellation — the run unwinds and cleans up.

The run reserves stock, then sleeps; cancelling it raises ``CancellationError``
where it waits, and the ``shield()`` block releases the stock even though the
run is being cancelled.

    python examples/local/durable/08_cancellation.py
"""

from __future__ import annotations

from pyworkflow import CancellationError, shield, sleep, step, workflow
from pyworkflow.local.runtime import LocalRuntime


@step()
async def reserve_inventory(order_id: str) -> str:
    return f"res-{order_id}"


@step()
async def release_inventory(reservation_id: str) -> str:
    return f"released {reservation_id}"


@workflow()
async def cancellable_order_workflow(order_id: str) -> str:
    reservation = await reserve_inventory(order_id)
    try:
        await sleep("1h")  # waiting for the warehouse
        return "shipped"
    except CancellationError:
        async with shield():  # cleanup runs although the run is cancelled
            await release_inventory(reservation)
        raise


if __name__ == "__main__":
    with LocalRuntime() as runtime:
        run = runtime.start(cancellable_order_workflow, "order-123")
        print("before:", run.info().status)
        info = runtime.cancel(run.run_id, reason="customer cancelled")
        cleanup = [e["data"]["step"] for e in run.events() if e["type"] == "step_completed"]
    print("after:", info.status, "| steps completed:", cleanup)
