"""Example 11: a poller that lives for ever — continue-as-new.

A workflow that loops for weeks would grow its journal without end, and every
replay would re-run all of it. Instead, after a batch of work it ends itself and
goes on in a new run with a fresh journal, carrying only what it needs (the cursor
and the running total). The runs of one chain link to each other.

    pyworkflow --module examples.celery.durable.11_continue_as_new worker run
    pyworkflow --module examples.celery.durable.11_continue_as_new workflows run \\
        feed_poller --arg feed=news --arg cursor=0 --wait
    pyworkflow runs chain <run_id>          # every run of the chain, oldest first

``batches`` (default 3) is how many runs the chain has; ``pause`` (default "1s") the
durable sleep between polls.
"""

from __future__ import annotations

from pyworkflow import continue_as_new, sleep, step, workflow

ITEMS_PER_POLL = 5


@step()
async def fetch_feed_items(feed: str, cursor: int) -> list[str]:
    return [f"{feed}-item-{n}" for n in range(cursor, cursor + ITEMS_PER_POLL)]


@step()
async def store_feed_items(items: list[str]) -> int:
    return len(items)


@workflow()
async def feed_poller(feed: str, cursor: int = 0, stored: int = 0, batches: int = 3,
                      pause: str = "1s") -> dict:
    """Poll a feed twice per run, then continue as new until ``batches`` runs are done."""
    for _ in range(2):
        items = await fetch_feed_items(feed, cursor)
        stored += await store_feed_items(items)
        cursor += len(items)
        await sleep(pause)
    if batches > 1:
        await continue_as_new(feed, cursor, stored, batches - 1, pause)
    return {"feed": feed, "cursor": cursor, "stored": stored}
