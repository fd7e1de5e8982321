"""Transient example 02: retries still apply without a journal.

Nothing is recorded, but a step keeps its retry policy: ``max_retries`` attempts
after the first, ``retry_delay`` (or a ``RetryableError``'s ``retry_after``)
between them, and a ``FatalError`` fails at once. Retries wait in this process.

    python examples/local/transient/02_retries.py
"""

from __future__ import annotations

from pyworkflow import RetryableError, get_step_context, step, workflow
from pyworkflow.local.transient import run_transient


@step(max_retries=3, retry_delay=0.1)
async def call_flaky_api(endpoint: str) -> dict:
    attempt = get_step_context().attempt
    if attempt <= 2:
        raise RetryableError(f"{endpoint} answered 503 (attempt {attempt})")
    return {"endpoint": endpoint, "attempts": attempt}


@workflow(durable=False)
async def flaky_fetch_workflow(endpoint: str) -> dict:
    return await call_flaky_api(endpoint)


if __name__ == "__main__":
    print(run_transient(flaky_fetch_workflow, "/api/data"))
