"""Local example 09: child workflows — a parent orchestrates runs of its own.

Each child is a run with its own id and journal; the parent awaits their results.

    python examples/local/durable/09_child_workflows.py
"""

from __future__ import annotations

from pyworkflow import start_child_workflow, step, workflow
from pyworkflow.local.runtime import LocalRuntime


@step()
async def charge_card(order_id: str, amount: float) -> dict:
    return {"order_id": order_id, "charged": amount}


@step()
async def create_shipment(order_id: str) -> dict:
    return {"order_id": order_id, "tracking": f"trk-{order_id}"}


@workflow()
async def payment_workflow(order_id: str, amount: float) -> dict:
    return await charge_card(order_id, amount)


@workflow()
async def shipping_workflow(order_id: str) -> dict:
    return await create_shipment(order_id)


@workflow()
async def order_fulfillment_workflow(order_id: str, amount: float) -> dict:
    payment = await start_child_workflow(payment_workflow, order_id, amount)
    shipping = await start_child_workflow(shipping_workflow, order_id)
    return {"order_id": order_id, "payment": payment, "shipping": shipping}


if __name__ == "__main__":
    with LocalRuntime() as runtime:
        run = runtime.start(order_fulfillment_workflow, "order-456", 149.99)
        result = run.result()
        children = runtime.children(run.run_id)
    print(result)
    print("children:", len(children))
