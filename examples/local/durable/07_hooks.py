"""Local example 07: a hook — the run waits for someone outside.

``await hook(name)`` suspends the run until a payload arrives for its token. In
the local runtime only this process can deliver it, so the example plays the
reviewer: it starts the run, reads the pending hook, and resumes it.

    python examples/local/durable/07_hooks.py
"""

from __future__ import annotations

from pyworkflow import hook, step, workflow
from pyworkflow.local.runtime import LocalRuntime


@step()
async def prepare_order(order_id: str) -> dict:
    return {"order_id": order_id, "state": "awaiting_approval"}


@step()
async def fulfil_order(order_id: str, reviewer: str) -> dict:
    return {"order_id": order_id, "state": "fulfilled", "approved_by": reviewer}


@workflow()
async def approval_workflow(order_id: str) -> dict:
    await prepare_order(order_id)
    decision = await hook("order_approval", timeout="1h")
    if not decision["approved"]:
        return {"order_id": order_id, "state": "rejected"}
    return await fulfil_order(order_id, decision["reviewer"])


if __name__ == "__main__":
    with LocalRuntime() as runtime:
        run = runtime.start(approval_workflow, "order-123")
        pending = run.hooks()
        print("waiting on:", [h.name for h in pending], run.info().status)
        runtime.resume_hook(pending[0].token, {"approved": True, "reviewer": "alice"})
        print(run.result())
