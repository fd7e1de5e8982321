"""Example 08: graceful cancellation — cancel_workflow, CancellationError, shield().

The order reserves inventory, waits, charges, waits, ships. Cancel it while it
waits and the sleep is interrupted at once: ``CancellationError`` is raised where
the workflow awaited, and its ``except`` block undoes what was done — release the
inventory, refund the charge if there was one — inside ``async with shield():``,
so those cleanup steps run even though the run is being cancelled. The run then
ends ``cancelled``.

    pyworkflow --module examples.celery.durable.08_cancellation worker run
    pyworkflow --module examples.celery.durable.08_cancellation workflows run \\
        cancellable_order_workflow --arg order_id=order-123
    pyworkflow runs cancel <run_id> --reason "Customer cancelled"
    pyworkflow runs logs <run_id>

Cancellation is checkpoint-based: it is checked before each step, sleep and hook;
a sleep or hook already waiting is interrupted; a step already running is not (its
result is recorded, and the next checkpoint raises) — unless the step asks.
``pack_items`` is a long step that calls
``get_step_context().check_cancellation()`` every ``CHECK_EVERY`` items: a cancel
stops it within a second or so, and its ``CancellationError`` (never retried once
the run is being cancelled) unwinds the workflow into the same cleanup. Pass
``--arg items=300`` to pack before charging (0.1 s per item).

``delay`` (default "60s") is the wait before charging; ``ship_delay`` (default:
``delay``) the wait before shipping, so a test can cancel after the charge.
"""

from __future__ import annotations

import time

from pyworkflow import CancellationError, get_step_context, shield, sleep, step, workflow

#: ``pack_items`` checks for a cancel every this many items.
CHECK_EVERY = 5


@step()
async def reserve_inventory(order_id: str) -> dict:
    return {"order_id": order_id, "reservation_id": f"res-{order_id}"}


@step()
def pack_items(order_id: str, items: int) -> dict:
    """A long step that stops early when its run is cancelled."""
    ctx = get_step_context()
    for packed in range(items):
        if packed % CHECK_EVERY == 0:
            ctx.check_cancellation()  # raises CancellationError once cancelled
        time.sleep(0.1)  # pack one item
    return {"order_id": order_id, "packed": items}


@step()
async def charge_order(order_id: str) -> dict:
    return {"order_id": order_id, "transaction_id": f"txn-{order_id}"}


@step()
async def ship_order(order_id: str) -> dict:
    return {"order_id": order_id, "tracking": f"track-{order_id}"}


@step()
async def release_inventory(order_id: str, reservation_id: str) -> dict:
    return {"order_id": order_id, "released": reservation_id}


@step()
async def refund_payment(order_id: str, transaction_id: str) -> dict:
    return {"order_id": order_id, "refunded": transaction_id}


@workflow()
async def cancellable_order_workflow(order_id: str, delay: str = "60s",
                                     ship_delay: str | None = None, items: int = 0) -> dict:
    """Reserve, (pack,) sleep, charge, sleep, ship; on cancel, release and refund
    (shielded)."""
    reservation = await reserve_inventory(order_id)
    charge: dict | None = None
    try:
        if items:
            await pack_items(order_id, items)
        await sleep(delay)
        charge = await charge_order(order_id)
        await sleep(ship_delay or delay)
        shipment = await ship_order(order_id)
        return {"order_id": order_id, "status": "shipped", "tracking": shipment["tracking"],
                "transaction_id": charge["transaction_id"]}
    except CancellationError:
        async with shield():  # the run is cancelled, but cleanup still runs
            await release_inventory(order_id, reservation["reservation_id"])
            if charge is not None:
                await refund_payment(order_id, charge["transaction_id"])
        raise  # the run ends "cancelled"
