"""Local example 03: a flaky API, retried per the step's policy.

The step fails twice with ``RetryableError`` and succeeds on its third attempt;
each retry waits (real time, on a timer the engine set) for ``retry_after``.
A ``FatalError`` would fail the step at once.

    python examples/local/durable/03_retries.py
"""

from __future__ import annotations

from pyworkflow import RetryableError, get_step_context, step, workflow
from pyworkflow.local.runtime import LocalRuntime


@step(max_retries=3)
async def call_flaky_api(endpoint: str) -> dict:
    attempt = get_step_context().attempt
    if attempt <= 2:
        raise RetryableError(f"{endpoint} answered 503 (attempt {attempt})", retry_after="0.2s")
    return {"endpoint": endpoint, "data": [1, 2, 3], "attempts": attempt}


@workflow()
async def retry_demo_workflow(endpoint: str) -> dict:
    response = await call_flaky_api(endpoint)
    return {"endpoint": endpoint, "total": sum(response["data"]),
            "attempts": response["attempts"]}


if __name__ == "__main__":
    with LocalRuntime() as runtime:
        run = runtime.start(retry_demo_workflow, "/api/data")
        result = run.result()
        failures = [e["data"]["error"] for e in run.events() if e["type"] == "step_failed"]
    print("failed attempts:", failures)
    print(result)
