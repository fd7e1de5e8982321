"""Local example 01: a three-step order workflow, durable, in this process.

No Redis, no worker: ``run_local`` runs the real engine here, with the journal in
memory. Every step's result is still recorded, and the run behaves as on workers.

    python examples/local/durable/01_basic_workflow.py
    pyworkflow --runtime local --module examples.local.durable.01_basic_workflow \\
        workflows run order_workflow --arg order_id=order-123 --arg amount=99.99
"""

from __future__ import annotations

from pyworkflow import FatalError, step, workflow
from pyworkflow.local.runtime import run_local


@step()
async def validate_order(order_id: str, amount: float) -> dict:
    if amount <= 0:
        raise FatalError(f"order {order_id}: amount must be positive, got {amount}")
    return {"order_id": order_id, "amount": amount}


@step(max_retries=3)
async def charge_payment(order_id: str, amount: float) -> dict:
    return {"charged": round(amount, 2), "transaction_id": f"txn-{order_id}"}


@step()
async def send_confirmation(order_id: str, transaction_id: str) -> str:
    return f"Order {order_id} confirmed ({transaction_id})"


@workflow()
async def order_workflow(order_id: str, amount: float) -> dict:
    """Validate an order, charge it, and confirm it."""
    order = await validate_order(order_id, amount)
    payment = await charge_payment(order_id, order["amount"])
    confirmation = await send_confirmation(order_id, payment["transaction_id"])
    return {"order_id": order_id, "payment": payment, "confirmation": confirmation}


if __name__ == "__main__":
    print(run_local(order_workflow, "order-123", 99.99))
