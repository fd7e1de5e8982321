"""What durability adds: one workflow that awaits an existing task as a step. The
worker imports this module (which imports the plain tasks), so it can also run any
canvas and beat entry that names those tasks.

    pyworkflow --module examples.celery.adopt.durable.flows worker run \\
        --import-beat examples.celery.adopt.plain.celery_app:app
"""

from __future__ import annotations

from pyworkflow import sleep, step, workflow

from ..plain.tasks import fetch_price, total

fetch_price_step = step.from_task(fetch_price)   # retried as the task declares
total_step = step.from_task(total)


@workflow(name="adopt_reprice")
async def reprice(skus: list[str], pause: str = "1s") -> float:
    """Price each item, wait (the run holds no worker while it does), then add up."""
    prices = [await fetch_price_step(sku) for sku in skus]
    await sleep(pause)
    return float(await total_step(prices))
