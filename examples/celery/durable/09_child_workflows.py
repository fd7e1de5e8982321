"""Example 09: order fulfilment with child workflows.

The parent validates the order, then runs a payment child and a shipping child
one after the other (each a run of its own, with its own run id and journal), and
starts a notification child fire-and-forget with the ABANDON policy, so it may
finish after the parent.

    pyworkflow --module examples.celery.durable.09_child_workflows worker run
    pyworkflow --module examples.celery.durable.09_child_workflows workflows run \\
        order_fulfillment_workflow --arg order_id=order-456 --arg amount=149.99 \\
        --arg customer_email=customer@example.com
    pyworkflow runs children <parent_run_id>
"""

from __future__ import annotations

from pyworkflow import FatalError, ParentClosePolicy, start_child_workflow, step, workflow


@step()
async def validate_fulfillment_order(order_id: str, amount: float) -> dict:
    if amount <= 0:
        raise FatalError(f"order {order_id}: invalid amount {amount}")
    return {"order_id": order_id, "amount": amount}


@step()
async def charge_card(order_id: str, amount: float) -> dict:
    return {"order_id": order_id, "charged": amount, "transaction_id": f"txn-{order_id}"}


@step()
async def create_shipment(order_id: str) -> dict:
    return {"order_id": order_id, "tracking_number": f"TRACK-{order_id.upper()}"}


@step()
async def send_email(to: str, subject: str) -> dict:
    return {"to": to, "subject": subject, "sent": True}


@workflow()
async def payment_child_workflow(order_id: str, amount: float) -> dict:
    """Child: take the payment."""
    return await charge_card(order_id, amount)


@workflow()
async def shipping_workflow(order_id: str) -> dict:
    """Child: create the shipment."""
    return await create_shipment(order_id)


@workflow()
async def notification_workflow(customer_email: str, order_id: str) -> dict:
    """Child, fire-and-forget: tell the customer."""
    return await send_email(customer_email, f"Your order {order_id} is on its way")


@workflow()
async def order_fulfillment_workflow(order_id: str, amount: float, customer_email: str) -> dict:
    """Validate, pay (child), ship (child), notify (child, not awaited)."""
    order = await validate_fulfillment_order(order_id, amount)
    payment = await start_child_workflow(payment_child_workflow, order_id, order["amount"])
    shipping = await start_child_workflow(shipping_workflow, order_id)
    notification = await start_child_workflow(
        notification_workflow, customer_email, order_id, wait_for_completion=False,
        parent_close_policy=ParentClosePolicy.ABANDON)
    return {"order_id": order_id, "payment": payment, "shipping": shipping,
            "notification_run_id": notification.child_run_id}
