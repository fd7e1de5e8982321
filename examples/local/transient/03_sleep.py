"""Transient example 03: a sleep is a plain wait.

In a transient run ``pyworkflow.sleep`` is ``asyncio.sleep``: the process waits,
no timer is stored, and stopping the process loses the run. For waits of hours or
days, use a durable workflow.

    python examples/local/transient/03_sleep.py
"""

from __future__ import annotations

import time

from pyworkflow import sleep, step, workflow
from pyworkflow.local.transient import run_transient


@step()
async def poll_status(job_id: str, check: int) -> str:
    return "done" if check >= 2 else "running"


@workflow(durable=False)
async def poll_workflow(job_id: str, interval: str = "0.2s") -> dict:
    checks = 1
    while await poll_status(job_id, checks) != "done":
        await sleep(interval)
        checks += 1
    return {"job_id": job_id, "checks": checks}


if __name__ == "__main__":
    began = time.monotonic()
    print(run_transient(poll_workflow, "job-7"))
    print(f"took {time.monotonic() - began:.1f}s")
