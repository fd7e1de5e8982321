"""Local example 06: idempotency — a retried step charges once.

``get_step_context().idempotency_key`` is the same for every attempt of one step
call. Pass it to the payment provider: when an attempt charged but then failed
(here: the network dropped the answer), the retry is recognised as the same
request and the customer is charged once.

    python examples/local/durable/06_idempotency.py
"""

from __future__ import annotations

from pyworkflow import RetryableError, get_step_context, step, workflow
from pyworkflow.local.runtime import run_local

#: A stand-in for the payment provider: idempotency key -> charge.
PROVIDER: dict[str, dict] = {}


@step(max_retries=2, retry_delay=0.1)
async def charge(payment_id: str, amount: float) -> dict:
    ctx = get_step_context()
    charged = PROVIDER.setdefault(ctx.idempotency_key, {"payment_id": payment_id,
                                                        "amount": amount})
    if ctx.attempt == 1:
        raise RetryableError("the provider's answer was lost on the way back")
    return {**charged, "attempts": ctx.attempt}


@workflow()
async def payment_workflow(payment_id: str, amount: float) -> dict:
    return await charge(payment_id, amount)


if __name__ == "__main__":
    result = run_local(payment_workflow, "pay-123", 99.99)
    print(result)
    print("charges at the provider:", len(PROVIDER))
