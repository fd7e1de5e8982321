"""Example 06: automatic recovery from crashes — worker loss, event replay.

``data_pipeline`` runs fetch, sleep, validate, sleep, transform, sleep, load,
notify. Its steps take a few seconds each, so you can kill the worker in the
middle and watch the run recover:

    # terminal 1 and 2: two workers
    pyworkflow --module examples.celery.durable.06_fault_tolerance worker run
    pyworkflow --module examples.celery.durable.06_fault_tolerance worker run
    # terminal 3
    pyworkflow --module examples.celery.durable.06_fault_tolerance workflows run \\
        data_pipeline --arg data_id=data-1 --wait
    # while a step runs, kill the worker that runs it:  kill -9 <its pid>
    # (or kill every worker, wait, and start one again)

Within ~10 s the other worker notices the lost step (its lease stopped being
renewed) and runs it again; the journal (``pyworkflow runs logs <run_id>``) shows
the failed attempt with ``worker_lost`` and the new one. Completed steps are not
re-run: the run's state is rebuilt from its journal.

``critical_pipeline`` is declared ``recover_on_worker_loss=False``: losing a worker
fails the run (status ``failed``, error ``WorkerLostError``) instead of recovering.
``step_seconds`` and ``pause`` are parameters so tests can shorten them.
"""

from __future__ import annotations

import asyncio

from pyworkflow import sleep, step, workflow


@step(max_retries=3, retry_delay=1)
async def fetch_data(data_id: str, step_seconds: float = 3.0) -> dict:
    await asyncio.sleep(step_seconds)
    return {"data_id": data_id, "records": [3, 1, 2]}


@step(max_retries=3, retry_delay=1)
async def validate_data(data: dict, step_seconds: float = 3.0) -> dict:
    await asyncio.sleep(step_seconds)
    return {**data, "valid": all(isinstance(r, int) for r in data["records"])}


@step(max_retries=3, retry_delay=1)
async def transform_data(data: dict, step_seconds: float = 3.0) -> dict:
    await asyncio.sleep(step_seconds)
    return {**data, "records": sorted(data["records"])}


@step(max_retries=3, retry_delay=1)
async def load_data(data: dict, step_seconds: float = 3.0) -> dict:
    await asyncio.sleep(step_seconds)
    return {"data_id": data["data_id"], "loaded": len(data["records"])}


@step()
async def notify(data_id: str, loaded: int) -> dict:
    return {"data_id": data_id, "message": f"{loaded} records loaded"}


@workflow(recover_on_worker_loss=True, max_recovery_attempts=5)
async def data_pipeline(data_id: str, step_seconds: float = 3.0, pause: str = "10s") -> dict:
    """fetch, sleep, validate, sleep, transform, sleep, load, notify."""
    data = await fetch_data(data_id, step_seconds)
    await sleep(pause)
    data = await validate_data(data, step_seconds)
    await sleep(pause)
    data = await transform_data(data, step_seconds)
    await sleep(pause)
    loaded = await load_data(data, step_seconds)
    return await notify(data_id, loaded["loaded"])


@workflow(recover_on_worker_loss=False)
async def critical_pipeline(data_id: str, step_seconds: float = 3.0) -> dict:
    """Like data_pipeline without the sleeps, but a lost worker fails the run."""
    data = await fetch_data(data_id, step_seconds)
    data = await transform_data(data, step_seconds)
    loaded = await load_data(data, step_seconds)
    return await notify(data_id, loaded["loaded"])
