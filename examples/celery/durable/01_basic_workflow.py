"""Example 01: a simple three-step order workflow.

Each step runs as its own Celery task, on any worker; the workflow itself only
orchestrates, and every step's result is recorded in the run's journal.

    pyworkflow --module examples.celery.durable.01_basic_workflow worker run
    pyworkflow --module examples.celery.durable.01_basic_workflow workflows run order_workflow \\
        --arg order_id=order-123 --arg amount=99.99
    pyworkflow runs logs <run_id>
"""

from __future__ import annotations

from pyworkflow import FatalError, step, workflow


@step()
async def validate_order(order_id: str, amount: float) -> dict:
    """Reject orders that cannot be valid; a FatalError is never retried."""
    if amount <= 0:
        raise FatalError(f"order {order_id}: amount must be positive, got {amount}")
    return {"order_id": order_id, "amount": amount, "valid": True}


@step(max_retries=3)
async def charge_payment(order_id: str, amount: float) -> dict:
    """Charge the customer (simulated); retried up to three times on failure."""
    return {"order_id": order_id, "charged": round(amount, 2), "transaction_id": f"txn-{order_id}"}


@step()
async def send_confirmation(order_id: str, transaction_id: str) -> dict:
    return {"order_id": order_id, "confirmation": f"Order {order_id} confirmed ({transaction_id})"}


@workflow()
async def order_workflow(order_id: str, amount: float) -> dict:
    """Validate an order, charge it, and confirm it: three steps."""
    order = await validate_order(order_id, amount)
    payment = await charge_payment(order["order_id"], order["amount"])
    confirmation = await send_confirmation(order_id, payment["transaction_id"])
    return {"order_id": order_id, "status": "completed", "payment": payment,
            "confirmation": confirmation["confirmation"]}
