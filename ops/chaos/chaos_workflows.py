"""Workflows for the chaos run (``ops/chaos/run.py``).

``chaos_order(i)`` is the run the chaos command starts K times::

    reserve ─ sleep ─ charge ∥ charge ─ child chaos_shipment(i) ─ sleep ─ notify
                                         └ pack ─ sleep ─ label

Six step calls per run (four in the parent, two in the child), three durable
sleeps, a parallel pair and a child workflow; the child has a concurrency limit (two
per dock, two docks), so children wait for slots too. Every step takes 50–300 ms
(``asyncio.sleep``) so that a worker killed at a random moment is usually killed
in the middle of one.

Each step attempt writes, under the deployment's key prefix:

* at its start, ``<prefix>:chaos:attempts:<run_id>`` field ``<call_id>:<attempt>``
  = JSON ``{"w": worker, "pid": pid, "t0": start time, "step": name}``, so the
  checker knows which worker ran which attempt and when (``CHAOS_WORKER`` is set
  per worker process by ``run.py``);
* at its end, in one ``MULTI``: ``HINCRBY <prefix>:chaos:effects:<run_id> <call_id> 1``
  (the step's side effect: "it happened", counted, so a re-executed step shows 2),
  the attempt's end time (field ``<call_id>:<attempt>:done``) and ``INCR
  <prefix>:chaos:progress`` (global progress, which paces the chaos).

Results are pure functions of ``i`` (see :func:`expected_result`), so the checker
can verify every run's result, not only its status. Step and workflow names all
start with ``chaos_``: a name must be defined in one module only.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

from pyworkflow import Limit, get_step_context, sleep, start_child_workflow, step, workflow
from pyworkflow.worker import _runtime

#: Step calls per ``chaos_order`` run: in the parent, in its child.
PARENT_STEPS = 4
CHILD_STEPS = 2
STEP_MIN_S = 0.05
STEP_MAX_S = 0.30
#: Generous: a Redis restart fails the steps that touch Redis while it is down.
STEP_RETRIES = 10
STEP_RETRY_DELAY = 0.5
#: A run can be hit by several kills; it must recover, not be parked as poison.
MAX_RECOVERIES = 10
#: The child is the limited workflow: at most ``SHIPMENT_SLOTS`` shipments per dock
#: (``dock_of(i)``) at once, so under the chaos runs also wait for slots, take them and
#: let them go, and the checker can count them (``run.py``: ``check_slots``).
DOCKS = 2
SHIPMENT_SLOTS = 2


def dock_of(i: int) -> str:
    return f"dock-{i % DOCKS}"


def effects_key(prefix: str, run_id: str) -> str:
    return f"{prefix}:chaos:{{{run_id}}}:effects"  # one hash tag per run (a cluster slot)


def attempts_key(prefix: str, run_id: str) -> str:
    return f"{prefix}:chaos:{{{run_id}}}:attempts"


def progress_key(prefix: str) -> str:
    return f"{prefix}:chaos:progress"


async def _side_effect(value: Any) -> Any:
    """Record the attempt, work for 50–300 ms, then record the side effect."""
    ctx = get_step_context()
    rt = _runtime.runtime()
    prefix = rt.settings.key_prefix
    attempt = f"{ctx.call_id}:{ctx.attempt}"
    rt.redis.hset(attempts_key(prefix, ctx.run_id), attempt, json.dumps({
        "w": os.environ.get("CHAOS_WORKER", "?"), "pid": os.getpid(), "t0": time.time(),
        "step": ctx.step}))
    await asyncio.sleep(random.uniform(STEP_MIN_S, STEP_MAX_S))
    pipe = rt.redis.pipeline(transaction=True)  # one run's keys: one slot on a cluster
    pipe.hincrby(effects_key(prefix, ctx.run_id), str(ctx.call_id), 1)
    pipe.hset(attempts_key(prefix, ctx.run_id), f"{attempt}:done", repr(time.time()))
    pipe.execute()
    rt.redis.incr(progress_key(prefix))  # a progress gauge only: not part of the checks
    return value


@step(max_retries=STEP_RETRIES, retry_delay=STEP_RETRY_DELAY)
async def chaos_reserve(i: int) -> int:
    return int(await _side_effect(i * 10))


@step(max_retries=STEP_RETRIES, retry_delay=STEP_RETRY_DELAY)
async def chaos_charge(reserved: int, part: int) -> int:
    return int(await _side_effect(reserved + part + 1))


@step(max_retries=STEP_RETRIES, retry_delay=STEP_RETRY_DELAY)
async def chaos_pack(i: int) -> int:
    return int(await _side_effect(i + 1000))


@step(max_retries=STEP_RETRIES, retry_delay=STEP_RETRY_DELAY)
async def chaos_label(packed: int) -> str:
    return str(await _side_effect(f"L{packed * 2}"))


@step(max_retries=STEP_RETRIES, retry_delay=STEP_RETRY_DELAY)
async def chaos_notify(i: int, total: int, label: str) -> dict[str, Any]:
    return dict(await _side_effect({"i": i, "total": total, "label": label}))


@workflow(recover_on_worker_loss=True, max_recovery_attempts=MAX_RECOVERIES,
          concurrency=Limit(key=dock_of, max=SHIPMENT_SLOTS))
async def chaos_shipment(i: int) -> str:
    packed = await chaos_pack(i)
    await sleep("200ms")
    return await chaos_label(packed)


@workflow(recover_on_worker_loss=True, max_recovery_attempts=MAX_RECOVERIES)
async def chaos_order(i: int) -> dict[str, Any]:
    reserved = await chaos_reserve(i)
    await sleep("300ms")
    first, second = await asyncio.gather(chaos_charge(reserved, 0), chaos_charge(reserved, 1))
    label = await start_child_workflow(chaos_shipment, i)
    await sleep("300ms")
    return await chaos_notify(i, first + second, label)


def expected_result(i: int) -> dict[str, Any]:
    """What ``chaos_order(i)`` returns when every step ran as written."""
    return {"i": i, "total": (i * 10 + 1) + (i * 10 + 2), "label": f"L{(i + 1000) * 2}"}
