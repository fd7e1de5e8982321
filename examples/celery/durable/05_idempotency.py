"""Example 05: an idempotent payment — no double charge, no duplicate run.

Two layers of duplicate prevention:

* ``--idempotency-key`` (``start(..., idempotency_key=...)``) starts at most one run
  per key: a repeated request (a client retrying a timed-out HTTP call) gets the
  id of the run that already exists.
* Inside the run, a step runs *at least* once: a worker may die after the payment
  provider charged but before the step reported back, and the step runs again.
  ``get_step_context().idempotency_key`` is the same for every attempt of one step
  call, so the charge passes it to the provider, which recognises the repeat and
  returns the first charge instead of charging again.

    pyworkflow --module examples.celery.durable.05_idempotency worker run
    pyworkflow --module examples.celery.durable.05_idempotency workflows run payment_workflow \\
        --arg payment_id=pay-123 --arg amount=99.99 \\
        --idempotency-key payment-pay-123

The payment provider is simulated by a tiny ledger in pyworkflow's Redis, under a
key of the app's own (``pyworkflow.client.app_key``: ``<prefix>:app:{example:ledger}``),
keyed by idempotency key.
``fail_first_attempt=True`` makes the first charge attempt fail *after* the
provider charged (a lost response), so the step is retried with the same key:
the ledger then shows two requests and one charge.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pyworkflow import FatalError, RetryableError, get_step_context, step, workflow
from pyworkflow.client import app_key, redis_connection

# -- the simulated payment provider ----------------------------------------------------

# KEYS[1] ledger hash: idempotency key -> the charge made for it (JSON)
# KEYS[2] charges hash: payment id -> number of charges actually made
# KEYS[3] requests list for this payment: every request received (JSON), in order
# ARGV: idempotency key, payment id, charge JSON, request JSON
# Returns the charge stored for the key: the new one, or the first one on a repeat.
_CHARGE_ONCE = """
redis.call('RPUSH', KEYS[3], ARGV[4])
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return ARGV[3]
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""


def ledger_key(suffix: str = "") -> str:
    """Where the simulated provider keeps its books (an app key: under the deployment's
    prefix, apart from pyworkflow's own keys). The ledger's keys share one hash tag, so
    the script that touches three of them runs on a Redis Cluster too."""
    return app_key(f"{{example:ledger}}{suffix}")


def provider_charge(idempotency_key: str, payment_id: str, amount: float,
                    attempt: int) -> dict[str, Any]:
    """Charge ``amount`` unless a charge with this idempotency key was already made.

    Atomic (one Lua script), as a real provider's idempotency check would be. A
    repeat returns the first charge, with its transaction id, untouched.
    """
    charge = {"transaction_id": f"txn-{uuid.uuid4().hex[:12]}",
              "payment_id": payment_id, "amount": round(amount, 2),
              "idempotency_key": idempotency_key}
    request = {"idempotency_key": idempotency_key, "attempt": attempt}
    charge_once = redis_connection().register_script(_CHARGE_ONCE)  # EVALSHA; loads if missing
    stored = charge_once(
        keys=[ledger_key(), ledger_key(":charges"), ledger_key(f":requests:{payment_id}")],
        args=[idempotency_key, payment_id, json.dumps(charge), json.dumps(request)])
    return json.loads(stored)  # type: ignore[no-any-return]


def ledger_charges(payment_id: str) -> int:
    """How many times the provider actually charged this payment."""
    return int(redis_connection().hget(ledger_key(":charges"), payment_id) or 0)


def ledger_requests(payment_id: str) -> list[dict[str, Any]]:
    """Every charge request the provider received for this payment, in order."""
    raw = redis_connection().lrange(ledger_key(f":requests:{payment_id}"), 0, -1)
    return [json.loads(r) for r in raw]


# -- the workflow ------------------------------------------------------------------------


@step()
async def validate_payment(payment_id: str, amount: float) -> dict:
    if amount <= 0:
        raise FatalError(f"payment {payment_id}: amount must be positive, got {amount}")
    return {"payment_id": payment_id, "amount": round(amount, 2)}


@step(max_retries=3, retry_delay="exponential")
async def charge_customer(payment_id: str, amount: float,
                         fail_first_attempt: bool = False) -> dict:
    """Charge through the provider with the step's idempotency key.

    Any attempt of this call — a retry, or a re-delivery after a worker crash —
    sends the same key, so the customer is charged once.
    """
    ctx = get_step_context()
    charge = provider_charge(ctx.idempotency_key, payment_id, amount, ctx.attempt)
    if fail_first_attempt and ctx.attempt == 1:
        # The provider charged, but its answer was lost on the way back.
        raise RetryableError(f"payment {payment_id}: connection reset while charging",
                             retry_after="0.5s")
    return {**charge, "attempt": ctx.attempt}


@step()
async def send_receipt(payment_id: str, transaction_id: str, amount: float) -> dict:
    return {"payment_id": payment_id,
            "receipt": f"Receipt for {payment_id}: {amount:.2f} charged ({transaction_id})"}


@workflow()
async def payment_workflow(payment_id: str, amount: float,
                           fail_first_attempt: bool = False) -> dict:
    """Validate a payment, charge it exactly once, send a receipt."""
    payment = await validate_payment(payment_id, amount)
    charge = await charge_customer(payment_id, payment["amount"], fail_first_attempt)
    receipt = await send_receipt(payment_id, charge["transaction_id"], charge["amount"])
    return {"payment_id": payment_id, "status": "charged",
            "transaction_id": charge["transaction_id"],
            "idempotency_key": charge["idempotency_key"], "attempts": charge["attempt"],
            "receipt": receipt["receipt"]}
