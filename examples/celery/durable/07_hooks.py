"""Example 07: hooks — a run waits for someone outside (a person, a webhook).

``await hook(name)`` suspends the run until a payload is delivered to the hook's
token; while it waits the run holds no worker. The token is unguessable and is
handed out by ``on_created(token)``, which runs once, after the hook is recorded
(never on replay): here it logs the command that resumes the hook. Deliver it
from the CLI (``--module`` lets it check a typed hook's payload before delivery)
or from an app with ``resume_hook(token, payload)``.

    pyworkflow --module examples.celery.durable.07_hooks worker run
    pyworkflow --module examples.celery.durable.07_hooks workflows run approval_workflow \\
        --arg order_id=order-123 --arg amount=1250
    # the worker logs the command that resumes the hook; or find the token with:
    pyworkflow hooks list --status pending
    pyworkflow --module examples.celery.durable.07_hooks hooks resume <token> \\
        --payload '{"approved": true, "reviewer": "alice"}'

Three workflows:

* ``approval_workflow``: a *typed* hook (``define_hook`` with a pydantic model).
  A payload that does not fit the model is refused at delivery, with the
  validation errors, and the hook stays pending; the workflow gets a model
  instance.
* ``simple_hook_workflow``: a plain hook (any JSON payload) with a timeout
  (``timeout``, default "24h"; tests pass "2s"). When it passes, the wait raises
  ``HookExpiredError`` in the workflow, which escalates instead.
* ``two_step_approval_workflow``: a manager, then finance; each approval is its
  own hook with its own token, created only when the run gets there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from pyworkflow import HookExpiredError, define_hook, hook, step, workflow

logger = logging.getLogger("examples.hooks")


class ApprovalDecision(BaseModel):
    """What a reviewer sends back."""

    approved: bool
    reviewer: str
    comments: str = ""


order_approval = define_hook("order_approval", ApprovalDecision)
manager_approval = define_hook("manager_approval", ApprovalDecision)
finance_approval = define_hook("finance_approval", ApprovalDecision)

_EXAMPLE_DECISION = {"approved": True, "reviewer": "alice", "comments": "looks good"}


def announce(name: str, example_payload: Any) -> Callable[[str], None]:
    """An ``on_created`` callback: tell whoever must answer how to resume the hook.

    A real app would e-mail a link or post to a chat here. It runs after the hook
    is committed, once; it must not await steps.
    """
    def on_created(token: str) -> None:
        payload = json.dumps(example_payload)
        logger.info(f"hook {name!r} is waiting; resume it with: pyworkflow --module "
                    f"{__name__} hooks resume {token} --payload '{payload}'")

    return on_created


# -- steps -------------------------------------------------------------------------------


@step()
async def prepare_order(order_id: str, amount: float) -> dict:
    return {"order_id": order_id, "amount": round(amount, 2), "state": "awaiting_approval"}


@step()
async def fulfil_order(order_id: str, reviewer: str) -> dict:
    return {"order_id": order_id, "state": "fulfilled", "approved_by": reviewer}


@step()
async def reject_order(order_id: str, reviewer: str, comments: str) -> dict:
    return {"order_id": order_id, "state": "rejected", "rejected_by": reviewer,
            "reason": comments}


@step()
async def process_request(request_id: str, payload: Any) -> dict:
    return {"request_id": request_id, "state": "processed", "payload": payload}


@step()
async def escalate_request(request_id: str, waited: str) -> dict:
    return {"request_id": request_id, "state": "escalated",
            "reason": f"no answer within {waited}"}


# -- workflows ---------------------------------------------------------------------------


@workflow()
async def approval_workflow(order_id: str, amount: float = 250.0) -> dict:
    """Prepare an order, wait for a typed approval, then fulfil or reject it."""
    order = await prepare_order(order_id, amount)
    decision = await order_approval(on_created=announce("order_approval", _EXAMPLE_DECISION))
    if decision.approved:
        outcome = await fulfil_order(order_id, decision.reviewer)
    else:
        outcome = await reject_order(order_id, decision.reviewer, decision.comments)
    return {"order_id": order_id, "amount": order["amount"], "approved": decision.approved,
            "reviewer": decision.reviewer, "comments": decision.comments,
            "state": outcome["state"]}


@workflow()
async def simple_hook_workflow(request_id: str, timeout: str = "24h") -> dict:
    """Wait for any JSON payload for up to ``timeout``; escalate when nobody answers."""
    try:
        payload = await hook("simple_approval", timeout=timeout,
                             on_created=announce("simple_approval", {"note": "go ahead"}))
    except HookExpiredError:
        outcome = await escalate_request(request_id, timeout)
        return {"request_id": request_id, "status": "expired", "state": outcome["state"]}
    outcome = await process_request(request_id, payload)
    return {"request_id": request_id, "status": "received", "payload": payload,
            "state": outcome["state"]}


@workflow()
async def two_step_approval_workflow(request_id: str, amount: float = 5000.0) -> dict:
    """A manager approves, then finance; a rejection at either stops the request."""
    manager = await manager_approval(
        on_created=announce("manager_approval", {**_EXAMPLE_DECISION, "reviewer": "manager"}))
    if not manager.approved:
        return {"request_id": request_id, "approved": False, "rejected_by": manager.reviewer,
                "approvals": [manager.model_dump()]}
    finance = await finance_approval(
        on_created=announce("finance_approval", {**_EXAMPLE_DECISION, "reviewer": "finance"}))
    approvals = [manager.model_dump(), finance.model_dump()]
    if not finance.approved:
        return {"request_id": request_id, "approved": False, "rejected_by": finance.reviewer,
                "approvals": approvals}
    outcome = await process_request(request_id, {"amount": amount})
    return {"request_id": request_id, "approved": True, "approvals": approvals,
            "state": outcome["state"]}
