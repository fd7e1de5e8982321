"""Small workflows for the client tests (sync and ``pyworkflow.client.aio``)."""

from __future__ import annotations

from pyworkflow import sleep, step, workflow


@step()
async def client_double(x: int) -> int:
    return 2 * x


@workflow()
async def client_quick(x: int) -> int:
    """One step: a run that ends within tens of milliseconds."""
    return await client_double(x)


@workflow()
async def client_napping(seconds: float, x: int) -> int:
    """Sleeps first, so a test can wait on a run that ends at a known moment."""
    await sleep(seconds)
    return await client_double(x)


@workflow(retention="1s")
async def client_short_lived(x: int) -> int:
    """Purged a second after it ends (retention)."""
    return await client_double(x)
