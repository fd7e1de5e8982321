"""Example 13: flow control. Routing to two worker pools, a priority run, a
per-customer limit and a rate-limited step.

Routing: ``billing_workflow`` runs on the ``billing`` queue, and its
``render_invoice`` step on the ``gpu`` queue. A worker takes work only from the
queues it is given, so the two kinds of work go to two pools:

    pyworkflow --module examples.celery.durable.13_flow_control worker run --queues billing
    pyworkflow --module examples.celery.durable.13_flow_control worker run --queues gpu

    pyworkflow --module examples.celery.durable.13_flow_control workflows run \\
        billing_workflow --arg customer_id=c-1 --arg amount=42 --wait

The result says which pool ran what (``ROUTING_POOL`` in each worker's environment,
``?`` when unset). With no ``gpu`` worker, the run waits at its step (``runs status``
shows it running; ``pyworkflow queues list`` shows the step queued on ``gpu``) and
goes on when one starts.

Priority: ``start(..., priority=9)`` (or ``--priority 9``; ``@workflow(priority=)`` sets
a workflow's default) puts a run's turns and steps before those of lower priorities in
its queues: ``bulk_export`` queues 500 steps at priority 0, then an ``urgent_refund``
at priority 9 is served next:

    pyworkflow --module examples.celery.durable.13_flow_control worker run --queues billing,gpu
    pyworkflow --module examples.celery.durable.13_flow_control workflows run bulk_export \\
        --arg count=500
    pyworkflow --module examples.celery.durable.13_flow_control workflows run urgent_refund \\
        --arg customer_id=c-9 --priority 9 --wait

A per-customer limit and a rate-limited step: ``sync_customer`` runs at most two at once
per customer (``concurrency=Limit(key="customer_id", max=2)``); a third waits, holding
no worker, and starts when one ends (``runs status`` says ``waiting for a slot:
customer_id=c-1, 2 of 2 held``). Each calls ``call_crm``, which the CRM allows 5 times a
second per account (``rate_limit="5/s", key="account"``, shared by every worker): a call
over the rate is scheduled, on a durable timer, for when it may go:

    pyworkflow --module examples.celery.durable.13_flow_control worker run --queues billing
    for i in 1 2 3; do pyworkflow --module examples.celery.durable.13_flow_control \
        workflows run sync_customer --arg customer_id=c-1; done
    pyworkflow queues show billing        # slots held per customer, the rate limit
"""

from __future__ import annotations

import asyncio
import os
import time

from pyworkflow import Limit, step, workflow


def _pool() -> str:
    return os.environ.get("ROUTING_POOL", "?")


# -- routing: two pools ------------------------------------------------------------------------
@step(name="billing_charge")  # "charge" is a step of tests/testing too: a name is one module's
async def charge(customer_id: str, amount: float) -> dict:
    """No queue of its own: it runs on its run's queue (``billing``)."""
    return {"customer_id": customer_id, "charged": amount, "pool": _pool()}


@step(queue="gpu")
async def render_invoice(customer_id: str, amount: float) -> dict:
    """On the ``gpu`` queue: only the workers given ``--queues gpu`` take it."""
    return {"invoice": f"invoice-{customer_id}.pdf", "pool": _pool()}


@workflow(queue="billing")
async def billing_workflow(customer_id: str, amount: float) -> dict:
    """Turns on the ``billing`` queue, one step there and one on ``gpu``."""
    payment = await charge(customer_id, amount)
    invoice = await render_invoice(customer_id, amount)
    return {"payment": payment, "invoice": invoice, "orchestrated_by": _pool()}


# -- priority ----------------------------------------------------------------------------------
@step(queue="gpu")
def export_row(i: int) -> int:
    time.sleep(0.01)
    return i


@workflow(queue="billing", priority=0)
async def bulk_export(count: int = 500) -> int:
    """Low priority (0): ``count`` steps queued at once on ``gpu``."""
    rows = await asyncio.gather(*(export_row(i) for i in range(count)))
    return len(rows)


@step(queue="gpu")
async def refund(customer_id: str) -> dict:
    return {"customer_id": customer_id, "refunded": True, "at": time.time()}


@workflow(queue="billing")
async def urgent_refund(customer_id: str) -> dict:
    """Started with ``priority=9``: its turns and its step go before ``bulk_export``'s."""
    return await refund(customer_id)


# -- a per-customer limit and a rate-limited step ------------------------------------------
@step(rate_limit="5/s", key="account")
async def call_crm(account: str, page: int) -> dict:
    """The CRM allows 5 calls a second per account: every worker shares that rate."""
    return {"account": account, "page": page, "at": time.time()}


@workflow(queue="billing", concurrency=Limit(key="customer_id", max=2))
async def sync_customer(customer_id: str, pages: int = 5) -> dict:
    """At most two syncs of one customer at once; each reads ``pages`` pages of the CRM."""
    calls = await asyncio.gather(*(call_crm(customer_id, page) for page in range(pages)))
    times = sorted(call["at"] for call in calls)
    return {"customer_id": customer_id, "pages": len(calls),
            "crm_calls_over_s": round(times[-1] - times[0], 2)}
