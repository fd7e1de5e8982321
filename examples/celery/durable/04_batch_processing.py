"""Example 04: batch processing — loops, parallel steps, aggregation.

One step fetches the items; one step per item processes it, all dispatched
together with ``asyncio.gather`` (they run in parallel on whatever workers are
free); a last step aggregates the results.

    pyworkflow --module examples.celery.durable.04_batch_processing worker run
    pyworkflow --module examples.celery.durable.04_batch_processing workflows run \\
        batch_workflow --arg batch_id=batch-789 --arg limit=5
"""

from __future__ import annotations

import asyncio

from pyworkflow import step, workflow


@step()
async def fetch_items(batch_id: str, limit: int) -> list[dict]:
    return [{"id": f"{batch_id}-item-{i}", "value": i * 10} for i in range(limit)]


@step(max_retries=2)
async def process_item(item: dict) -> dict:
    return {"id": item["id"], "processed": True, "result": item["value"] * 2}


@step()
async def aggregate_results(batch_id: str, results: list[dict]) -> dict:
    return {"batch_id": batch_id, "processed": len(results),
            "total": sum(r["result"] for r in results)}


@workflow()
async def batch_workflow(batch_id: str, limit: int = 10) -> dict:
    """Fetch ``limit`` items, process each in parallel, aggregate."""
    items = await fetch_items(batch_id, limit)
    results = await asyncio.gather(*(process_item(item) for item in items))
    return await aggregate_results(batch_id, list(results))
