"""Local example 05: the event log — what the journal records, and replaying it.

Every step, sleep and result is an event in the run's journal. ``events()``
returns it in the shape ``pyworkflow runs export`` writes, and
``pyworkflow.testing.replay`` checks that today's code still replays it.

    python examples/local/durable/05_event_log.py
"""

from __future__ import annotations

from pyworkflow import sleep, step, workflow
from pyworkflow.local.runtime import LocalRuntime
from pyworkflow.testing import replay


@step()
async def fetch_price(sku: str) -> float:
    return {"apple": 0.5, "pear": 0.75}.get(sku, 1.0)


@workflow()
async def price_workflow(skus: list[str]) -> float:
    total = 0.0
    for sku in skus:
        total += await fetch_price(sku)
    await sleep("0.1s")
    return total


if __name__ == "__main__":
    with LocalRuntime() as runtime:
        run = runtime.start(price_workflow, ["apple", "pear"])
        result = run.result()
        events = run.events()
    for event in events:
        print(f"{event['seq']:>2} {event['type']:<20} {event['data'].get('step', '')}")
    replay(events)  # raises NonDeterminismError if the code no longer matches
    print("replays clean; result:", result)
